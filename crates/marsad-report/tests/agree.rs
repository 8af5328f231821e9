//! The report's figures are the analytics' figures: on random
//! observatories and filters, every series a chart draws equals what the
//! corresponding `marsad analyze` command computes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use marsad_observe::analytics::{self, By, Filter, Observatory, Release, Sighting};
use marsad_observe::calendar::Bucket;
use marsad_observe::describe::Format;
use marsad_report::data::{ReportOptions, compute};
use proptest::prelude::*;

const DAY: i64 = 86_400_000_000;
const T0: i64 = 1_704_067_200_000_000; // 2024-01-01

fn observatory() -> impl Strategy<Value = Observatory> {
    // Times on a coarse grid (6 hours; whole days for reposts) so that the
    // boundaries — a window's edge, a minimum age — are hit exactly.
    let release = (
        0i64..800,
        proptest::option::of(0u32..4),
        0usize..6,
        proptest::collection::vec((0i64..90, 0u32..6), 0..4),
    );
    (1usize..5, proptest::collection::vec(release, 0..60)).prop_map(|(n_outlets, rels)| {
        let mut obs = Observatory {
            outlets: (0..n_outlets).map(|i| format!("Outlet {i}")).collect(),
            sources: (0..6).map(|i| format!("telegram:{}", 1_000_000_000 + i)).collect(),
            ..Observatory::default()
        };
        for (i, (t, outlet, format, reposts)) in rels.into_iter().enumerate() {
            let first = T0 + t * DAY / 4;
            let last = first + reposts.iter().map(|r| r.0 * DAY).max().unwrap_or(0);
            obs.releases.push(Release {
                id: i as i64 + 1,
                first_seen: first,
                last_seen: last,
                outlet: outlet.filter(|&o| (o as usize) < n_outlets),
                format: Format::ALL[format],
                language: None,
                source: 0,
            });
            obs.sightings.push(Sighting { release: i as u32, source: 0, time: first });
            for (dt, src) in reposts {
                obs.sightings.push(Sighting { release: i as u32, source: src, time: first + dt * DAY });
            }
        }
        obs
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    (any::<bool>(), proptest::option::of((0i64..150, 1i64..120)), proptest::option::of(0usize..6)).prop_map(
        |(official_only, range, exclude)| Filter {
            official_only,
            from: range.map(|(a, _)| T0 + a * DAY + 6 * 3_600_000_000),
            to: range.map(|(a, len)| T0 + (a + len) * DAY),
            exclude_formats: exclude.map(|f| vec![Format::ALL[f]]).unwrap_or_default(),
            ..Filter::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn report_figures_equal_the_analytics(obs in observatory(), filter in filter(), weekly in any::<bool>()) {
        let opts = ReportOptions {
            filter: filter.clone(),
            max_weekly_buckets: if weekly { 1000 } else { 4 },
            generated_at: T0,
            ..ReportOptions::default()
        };
        let data = compute(&obs, &opts);

        // Releases per bucket, all layers together, equal the timeline.
        let timeline: HashMap<i64, u64> = analytics::timeline(&obs, &filter, data.bucket, None)
            .into_iter()
            .map(|r| (r.bucket.unix_micros(), r.releases))
            .collect();
        for (i, start) in data.buckets.iter().enumerate() {
            let drawn: u64 = data.series.iter().map(|s| s.counts[i]).sum();
            prop_assert_eq!(drawn, timeline.get(start).copied().unwrap_or(0), "bucket {}", start);
        }
        let total: u64 = data.series.iter().flat_map(|s| s.counts.iter()).sum();
        prop_assert_eq!(total, data.releases);
        prop_assert_eq!(data.releases, filter.mask(&obs).iter().filter(|&&m| m).count() as u64);

        // The heat map's rows equal the weekly timeline by outlet.
        let by_outlet: HashMap<(i64, Option<String>), u64> =
            analytics::timeline(&obs, &filter, Bucket::Week, Some(By::Outlet))
                .into_iter()
                .map(|r| ((r.bucket.unix_micros(), r.key), r.releases))
                .collect();
        for (name, counts) in &data.heat {
            let key = (name != "unattributed").then(|| name.clone());
            for (i, week) in data.weeks.iter().enumerate() {
                prop_assert_eq!(counts[i], by_outlet.get(&(*week, key.clone())).copied().unwrap_or(0));
            }
        }

        // Silent share at each point equals dormancy there.
        for &(at, share) in &data.silent_share {
            let d = analytics::dormancy(&obs, &filter, at, opts.dormancy_days);
            prop_assert!((d.silent_share - share).abs() < 1e-12, "at {}: {} vs {}", at, d.silent_share, share);
        }
        let end = analytics::dormancy(&obs, &filter, data.end, opts.dormancy_days);
        for (row, state) in data.outlet_rows.iter().zip(&end.outlets) {
            prop_assert_eq!(&row.name, &state.outlet);
            prop_assert_eq!(row.silent_at_end, state.silent);
        }

        // Recycling per bucket equals recycling over the bucket (within the period).
        for p in &data.recycling {
            let a = p.start.max(data.start);
            let b = data.bucket.next(p.start).min(data.end);
            let r = analytics::recycling(&obs, &filter, a, b, opts.recycling_min_age_days);
            prop_assert_eq!((p.sightings, p.recycled), (r.sightings, r.recycled), "bucket {}", p.start);
        }

        // Silences are the analytics' silences.
        prop_assert_eq!(&data.silence_rows, &analytics::silences(&obs, &filter, opts.silence_min_hours));
        prop_assert_eq!(data.silences.len(), data.silence_rows.len());

        // Formats add up.
        prop_assert_eq!(data.formats.iter().map(|f| f.1).sum::<u64>(), data.releases);

        // And the page renders whatever the data.
        let html = marsad_report::html::page(&data, &opts);
        prop_assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    }
}
