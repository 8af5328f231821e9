//! Grouping benchmark: a store of N fingerprinted posts with planted
//! releases (originals in outlet channels; forwards, re-encoded copies with
//! a few PDQ bits flipped and a word changed, and caption-only reposts in
//! supporter channels), then `update()` — read, group, write, describe —
//! timed. Run pinned to one core:
//!
//! ```text
//! cargo build --release --example grouping_bench -p marsad-observe
//! taskset -c 0 target/release/examples/grouping_bench --posts 1000000 --db /tmp/g.db
//! ```
//!
//! Prints the planted and found release counts (they must be equal), the
//! time of the full grouping, and of an incremental run over 1 % more posts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use marsad_core::{Md5, MediaKind, Platform, Sha256, SignalType, SourceKey, UtcTime};
use marsad_hash::text::{MinHasher, normalize};
use marsad_observe::group::GroupConfig;
use marsad_store::prelude::*;
use marsad_store::{
    MediaContent, MediaRef, NewFingerprint, NewMedia, NewPost, NewRun, NewSource, PostBatch, RunSummary,
};
use marsad_store_sqlite::SqliteStore;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const OUTLETS: u64 = 20;
const SUPPORTERS: u64 = 500;

struct Image {
    sha: [u8; 32],
    pdq: [u8; 32],
}

struct Planted {
    caption: Vec<String>,
    images: Vec<Image>,
    time: i64,
}

struct Generator {
    rng: Rng,
    vocab: Vec<String>,
    hasher: MinHasher,
    next_id: Vec<u64>,
    used: std::collections::HashSet<(u64, i64)>,
}

impl Generator {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let syll =
            ["ka", "ri", "mo", "sa", "lu", "ne", "ta", "bi", "do", "fa", "ha", "zu", "qe", "wi", "ya", "ra"];
        let arabic = ["ال", "مد", "نه", "سر", "قل", "بي", "تو", "حم"];
        let vocab = (0..6000)
            .map(|i| {
                let n = 2 + rng.below(3);
                if i % 3 == 0 {
                    (0..n).map(|_| arabic[rng.below(arabic.len() as u64) as usize]).collect()
                } else {
                    (0..n).map(|_| syll[rng.below(syll.len() as u64) as usize]).collect()
                }
            })
            .collect();
        Generator {
            rng,
            vocab,
            hasher: MinHasher::default(),
            next_id: vec![0; (OUTLETS + SUPPORTERS) as usize],
            used: Default::default(),
        }
    }

    fn word(&mut self) -> String {
        self.vocab[self.rng.below(self.vocab.len() as u64) as usize].clone()
    }

    fn source(i: u64) -> NewSource {
        NewSource {
            key: SourceKey { platform: Platform::telegram(), platform_id: (2_000_000_000 + i).to_string() },
            name: format!("channel {i}"),
            kind: "public_channel".to_owned(),
        }
    }

    fn media(&mut self, sha: [u8; 32], pdq: &[u8; 32]) -> MediaRef {
        let hex: String = pdq.iter().map(|b| format!("{b:02x}")).collect();
        MediaRef {
            kind: MediaKind::Image,
            path: "photos/photo.jpg".to_owned(),
            content: MediaContent::Present(NewMedia {
                sha256: Sha256(sha),
                md5: Md5(self.rng.bytes()),
                kind: MediaKind::Image,
                byte_size: 80_000,
                mime: Some("image/jpeg".to_owned()),
                original_path: "photos/photo.jpg".to_owned(),
                retained_path: None,
                fingerprints: vec![NewFingerprint {
                    signal_type: SignalType::Pdq,
                    value: hex,
                    quality: Some(90),
                    variant: None,
                }],
                matches: Vec::new(),
            }),
        }
    }

    fn post(&mut self, source: u64, time: i64, caption: &str, media: Vec<MediaRef>) -> NewPost {
        let id = &mut self.next_id[source as usize];
        *id += 1;
        let normalized = normalize(caption);
        let fingerprints = if normalized.is_empty() {
            Vec::new()
        } else {
            vec![NewFingerprint {
                signal_type: SignalType::Text,
                value: self.hasher.sign(&normalized).to_hex(),
                quality: None,
                variant: None,
            }]
        };
        NewPost {
            source: source as usize,
            platform_post_id: id.to_string(),
            posted_at: UtcTime::from_unix_micros(time).unwrap(),
            edited_at: None,
            text: caption.to_owned(),
            url: None,
            forwarded_from: None,
            reply_to: None,
            media,
            fingerprints,
            matches: Vec::new(),
        }
    }

    /// The posts of one release: the original and its reposts.
    fn release(&mut self, time: i64) -> Vec<NewPost> {
        let words = 10 + self.rng.below(16) as usize;
        let caption: Vec<String> = (0..words).map(|_| self.word()).collect();
        let n_images = match self.rng.below(100) {
            0..35 => 0,
            35..85 => 1,
            _ => 3,
        };
        let images: Vec<Image> =
            (0..n_images).map(|_| Image { sha: self.rng.bytes(), pdq: self.rng.bytes() }).collect();
        let p = Planted { caption, images, time };
        let outlet = self.rng.below(OUTLETS);
        let mut posts = self.copy(&p, outlet, p.time, Variant::Original);
        // Reposts: 1 + geometric, mean about 4 sightings per release.
        let mut t = p.time;
        while self.rng.chance(0.72) {
            // Minutes to days later, at any second.
            t += 1_000_000 * (60 + self.rng.below(86_400 * 3) as i64);
            let supporter = OUTLETS + self.rng.below(SUPPORTERS);
            let variant = match self.rng.below(100) {
                0..40 => Variant::Forward,
                40..80 => Variant::Reencoded,
                _ => Variant::CaptionOnly,
            };
            posts.extend(self.copy(&p, supporter, t, variant));
        }
        posts
    }

    fn copy(&mut self, p: &Planted, source: u64, mut time: i64, variant: Variant) -> Vec<NewPost> {
        // Posts in one source and second are an album: keep other releases
        // out of a second already used.
        while !self.used.insert((source, time.div_euclid(1_000_000))) {
            time += 1_000_000;
        }
        let mut caption = p.caption.clone();
        match variant {
            Variant::Original | Variant::Forward => {}
            Variant::Reencoded if !p.images.is_empty() => {
                // One word changed: the images link it.
                let i = self.rng.below(caption.len() as u64) as usize;
                caption[i] = self.word();
            }
            // A text alone links when near-duplicate: a word added.
            Variant::Reencoded => caption.insert(0, "عاجل".to_owned()),
            Variant::CaptionOnly => caption.push("#repost".to_owned()),
        }
        let caption = caption.join(" ");
        if p.images.is_empty() || variant == Variant::CaptionOnly {
            return vec![self.post(source, time, &caption, Vec::new())];
        }
        // An album: one post per image, the caption on the first.
        let mut out = Vec::new();
        for (i, img) in p.images.iter().enumerate() {
            let media = match variant {
                Variant::Reencoded => {
                    let mut pdq = img.pdq;
                    for _ in 0..self.rng.below(17) {
                        let bit = self.rng.below(256) as usize;
                        pdq[bit / 8] ^= 1 << (bit % 8);
                    }
                    let sha = self.rng.bytes();
                    self.media(sha, &pdq)
                }
                _ => self.media(img.sha, &img.pdq),
            };
            out.push(self.post(source, time, if i == 0 { &caption } else { "" }, vec![media]));
        }
        out
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Original,
    Forward,
    Reencoded,
    CaptionOnly,
}

/// Writes posts in batches of 20,000 within one ingest run.
struct Writer {
    run: marsad_store::RunId,
    sources: Vec<NewSource>,
    pending: Vec<NewPost>,
    written: usize,
}

impl Writer {
    fn new(store: &mut SqliteStore) -> Self {
        let run = store
            .begin_run(&NewRun {
                kind: "bench".to_owned(),
                path: "grouping_bench".to_owned(),
                started_at: UtcTime::from_unix_seconds(0),
            })
            .unwrap();
        let sources = (0..OUTLETS + SUPPORTERS).map(Generator::source).collect();
        Writer { run, sources, pending: Vec::new(), written: 0 }
    }

    fn push(&mut self, store: &mut SqliteStore, posts: Vec<NewPost>) {
        self.written += posts.len();
        self.pending.extend(posts);
        if self.pending.len() >= 20_000 {
            self.flush(store);
        }
    }

    fn flush(&mut self, store: &mut SqliteStore) {
        let batch = PostBatch {
            sources: self.sources.clone(),
            posts: std::mem::take(&mut self.pending),
            receipt: None,
        };
        store.write_batch(self.run, &batch).unwrap();
    }

    fn finish(mut self, store: &mut SqliteStore) -> usize {
        self.flush(store);
        store.finish_run(self.run, &RunSummary::default()).unwrap();
        self.written
    }
}

fn main() {
    let mut posts_wanted = 1_000_000usize;
    let mut db = PathBuf::from("/tmp/marsad-grouping-bench.db");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // Only group (again) an existing store: for profiling.
            "--regroup" => {
                let db = PathBuf::from(args.next().unwrap());
                let mut store = SqliteStore::open(&db).unwrap();
                let started = Instant::now();
                let summary =
                    marsad_observe::update::update(&mut store, &GroupConfig::default(), false).unwrap();
                println!(
                    "{} posts in {:.2} s: {:?}",
                    summary.new_posts,
                    started.elapsed().as_secs_f64(),
                    summary.timings
                );
                return;
            }
            "--posts" => posts_wanted = args.next().unwrap().parse().unwrap(),
            "--db" => db = PathBuf::from(args.next().unwrap()),
            other => panic!("unknown argument {other}"),
        }
    }
    for suffix in ["", "-wal", "-shm", ".observatory"] {
        std::fs::remove_file(format!("{}{suffix}", db.display())).ok();
    }
    let mut g = Generator::new(2026);
    let t0 = 1_704_067_200_000_000i64;
    let span = 730 * 86_400_000_000i64;
    // About 3.9 posts per release.
    let est_releases = (posts_wanted as f64 / 3.9) as i64;
    let mut store = SqliteStore::open(&db).unwrap();
    let started = Instant::now();
    let mut w = Writer::new(&mut store);
    let mut planted = 0u64;
    while w.written < posts_wanted {
        let time = t0 + planted as i64 * (span / est_releases.max(1));
        let posts = g.release(time);
        w.push(&mut store, posts);
        planted += 1;
    }
    let n = w.finish(&mut store);
    eprintln!("wrote {n} posts of {planted} planted releases in {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let summary = marsad_observe::update::update(&mut store, &GroupConfig::default(), false).unwrap();
    let full = started.elapsed().as_secs_f64();
    eprintln!("phases: {:?}", summary.timings);
    let stats = store.stats().unwrap();
    println!(
        "full grouping: {} posts ({} fingerprints) -> {} releases (planted {planted}) in {full:.2} s = {:.0} posts/s",
        summary.new_posts,
        stats.fingerprints,
        summary.releases_created - summary.releases_merged,
        summary.new_posts as f64 / full
    );

    // 1 % more, for the incremental run.
    let mut w = Writer::new(&mut store);
    let mut planted_more = 0u64;
    while w.written < posts_wanted / 100 {
        let posts = g.release(t0 + span + planted_more as i64 * 60_000_000);
        w.push(&mut store, posts);
        planted_more += 1;
    }
    let m = w.finish(&mut store);
    let started = Instant::now();
    let summary = marsad_observe::update::update(&mut store, &GroupConfig::default(), false).unwrap();
    let inc = started.elapsed().as_secs_f64();
    eprintln!("phases: {:?}", summary.timings);
    println!(
        "incremental: {m} new posts -> {} new releases (planted {planted_more}) in {inc:.2} s",
        summary.releases_created - summary.releases_merged
    );
    let mut releases = 0u64;
    store
        .releases(None, &mut |_| {
            releases += 1;
            Ok(())
        })
        .unwrap();
    println!("releases in the store: {releases} (planted {})", planted + planted_more);
}
