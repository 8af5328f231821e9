//! Builds a store of N sightings for the analytics benchmark
//! (`bench/analytics.sh`): 30 outlets and 1,000 supporter channels over
//! three years, about five sightings per release (supporters repost within
//! days; some a year later), five outlets falling silent along the way, and
//! a 48-hour silence of every outlet. Posts are written through the store,
//! grouped by their planted release, and described by `describe()` as a real
//! grouping run would; the grouping itself is measured by `grouping_bench`.
//!
//! ```text
//! cargo build --release --example analytics_fixture -p marsad-observe
//! target/release/examples/analytics_fixture --sightings 10000000 --db /tmp/a.db
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use marsad_core::{Platform, SourceKey, UtcTime};
use marsad_store::prelude::*;
use marsad_store::{
    GroupingUpdate, NewPost, NewRun, NewSource, OutletRecord, PostBatch, ReleaseSlot, RunSummary,
};
use marsad_store_sqlite::SqliteStore;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const OUTLETS: u64 = 30;
const SUPPORTERS: u64 = 1_000;
const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;

fn key(i: u64) -> SourceKey {
    SourceKey { platform: Platform::telegram(), platform_id: (3_000_000_000 + i).to_string() }
}

fn main() {
    let mut wanted = 10_000_000usize;
    let mut db = PathBuf::from("/tmp/marsad-analytics.db");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sightings" => wanted = args.next().unwrap().parse().unwrap(),
            "--db" => db = PathBuf::from(args.next().unwrap()),
            other => panic!("unknown argument {other}"),
        }
    }
    for suffix in ["", "-wal", "-shm", ".observatory"] {
        std::fs::remove_file(format!("{}{suffix}", db.display())).ok();
    }
    let mut store = SqliteStore::open(&db).unwrap();
    let mut rng = Rng(7);
    let t0 = 1_704_067_200 * SECOND; // 2024-01-01
    let span = 3 * 365 * DAY;
    let releases = (wanted / 5).max(1) as i64;
    let step = span / releases;
    let silence = (t0 + span / 2, t0 + span / 2 + 2 * DAY);
    // Outlet o (< 5) stops at a fifth of the span times (o + 1).
    let stops = |o: u64| if o < 5 { t0 + span / 6 * (o as i64 + 1) } else { i64::MAX };
    let words = ["بيان", "إصدار", "news", "report", "حصاد", "الأسبوع", "update", "weekly", "نشرة", "مرئي"];

    let sources: Vec<NewSource> = (0..OUTLETS + SUPPORTERS)
        .map(|i| NewSource { key: key(i), name: format!("channel {i}"), kind: "public_channel".to_owned() })
        .collect();
    let run = store
        .begin_run(&NewRun {
            kind: "bench".to_owned(),
            path: "analytics_fixture".to_owned(),
            started_at: UtcTime::from_unix_seconds(0),
        })
        .unwrap();
    let started = Instant::now();
    let mut next_id = vec![0u64; (OUTLETS + SUPPORTERS) as usize];
    let mut used = std::collections::HashSet::new();
    let mut batch = PostBatch { sources: sources.clone(), posts: Vec::with_capacity(50_000), receipt: None };
    // Release of each post, in write order (the store numbers posts in
    // that order).
    let mut release_of: Vec<ReleaseSlot> = Vec::with_capacity(wanted + 64);
    let mut written = 0usize;
    let mut r = 0i64;
    while written < wanted {
        let mut time = t0 + r * step + rng.below(step.max(1) as u64) as i64;
        if time >= silence.0 && time < silence.1 {
            time = silence.1 + rng.below(3_600) as i64 * SECOND;
        }
        let mut outlet = rng.below(OUTLETS);
        while stops(outlet) <= time {
            outlet = rng.below(OUTLETS);
        }
        let caption: Vec<&str> = (0..6).map(|_| words[rng.below(words.len() as u64) as usize]).collect();
        let caption = format!("{} {r}", caption.join(" "));
        let mut sightings = vec![(outlet, time)];
        let mut t = time;
        while rng.chance(0.8) {
            t += SECOND * (60 + rng.below(86_400 * 4) as i64);
            sightings.push((OUTLETS + rng.below(SUPPORTERS), t));
        }
        if rng.chance(0.02) {
            sightings.push((
                OUTLETS + rng.below(SUPPORTERS),
                time + 400 * DAY + rng.below(86_400) as i64 * SECOND,
            ));
        }
        for (source, mut at) in sightings {
            while !used.insert((source, at.div_euclid(SECOND))) {
                at += SECOND;
            }
            next_id[source as usize] += 1;
            batch.posts.push(NewPost {
                source: source as usize,
                platform_post_id: next_id[source as usize].to_string(),
                posted_at: UtcTime::from_unix_micros(at).unwrap(),
                edited_at: None,
                text: caption.clone(),
                url: None,
                forwarded_from: None,
                reply_to: None,
                media: Vec::new(),
                fingerprints: Vec::new(),
                matches: Vec::new(),
            });
            release_of.push(ReleaseSlot::New(r as u32));
            written += 1;
        }
        if batch.posts.len() >= 50_000 {
            store.write_batch(run, &batch).unwrap();
            batch.posts.clear();
        }
        r += 1;
    }
    store.write_batch(run, &batch).unwrap();
    store.finish_run(run, &RunSummary::default()).unwrap();
    eprintln!("wrote {written} posts of {r} releases in {:.0} s", started.elapsed().as_secs_f64());

    let registry: Vec<OutletRecord> = (0..OUTLETS)
        .map(|o| OutletRecord {
            name: format!("Outlet {o:02}"),
            aliases: Vec::new(),
            channels: vec![key(o)],
            region: None,
            parent: None,
        })
        .collect();
    store.replace_outlets(&registry).unwrap();

    let started = Instant::now();
    let mut ids = Vec::with_capacity(written);
    let generation = store
        .grouping_posts(&mut |p| {
            ids.push(p.id);
            Ok(())
        })
        .unwrap();
    assert_eq!(ids.len(), written);
    let update = GroupingUpdate {
        assign: ids.iter().zip(&release_of).map(|(&p, &r)| (p, r)).collect(),
        text_linkable: Vec::new(),
        merged: Vec::new(),
        generation,
    };
    store.apply_grouping(&update).unwrap();
    let described = marsad_observe::update::describe(&mut store, None).unwrap();
    eprintln!("grouped and described {described} releases in {:.0} s", started.elapsed().as_secs_f64());
    println!("{}", db.display());
}
