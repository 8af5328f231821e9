//! Grouping while other processes write: a second connection to the same
//! store writes between the grouping run's read and its write.

use marsad_core::{Platform, SourceKey, UtcTime};
use marsad_hash::text::{MinHasher, normalize};
use marsad_observe::group::GroupConfig;
use marsad_store::prelude::*;
use marsad_store::{
    GroupPost, GroupingUpdate, NewPost, NewRun, NewSource, PostBatch, ReleaseMember, ReleaseRecord, Result,
    StoreError,
};
use marsad_store_sqlite::SqliteStore;

/// What the other process does just before each of the run's writes.
#[derive(Clone, Copy, PartialEq)]
enum Other {
    /// An ingest adds a post.
    Ingests,
    /// Another grouping run changes the releases (here: a registry import,
    /// which changes the same generation), the first `n` times.
    ChangesReleases(u32),
}

/// The store of a grouping run, with another process's connection.
struct Contended {
    store: SqliteStore,
    other: SqliteStore,
    does: Other,
    applied: u32,
    next_id: u32,
}

impl Contended {
    fn new(dir: &std::path::Path, does: Other) -> Self {
        let db = dir.join("m.db");
        let mut store = SqliteStore::open(&db).unwrap();
        for i in 0..4 {
            ingest(&mut store, i);
        }
        Contended { store, other: SqliteStore::open(&db).unwrap(), does, applied: 0, next_id: 4 }
    }
}

fn ingest(store: &mut SqliteStore, id: u32) {
    let run = store
        .begin_run(&NewRun { kind: "t".into(), path: "p".into(), started_at: UtcTime::from_unix_seconds(0) })
        .unwrap();
    let text = "a caption long enough to link the posts that repeat it word for word";
    let batch = PostBatch {
        sources: vec![NewSource {
            key: SourceKey { platform: Platform::telegram(), platform_id: format!("100000000{}", id % 2) },
            name: "c".into(),
            kind: "public_channel".into(),
        }],
        posts: vec![NewPost {
            source: 0,
            platform_post_id: id.to_string(),
            posted_at: UtcTime::from_unix_seconds(1_700_000_000 + i64::from(id) * 60),
            edited_at: None,
            text: text.to_owned(),
            url: None,
            forwarded_from: None,
            reply_to: None,
            media: vec![],
            // As ingest stores it: grouped posts link to new ones by it.
            fingerprints: vec![marsad_store::NewFingerprint {
                signal_type: marsad_core::SignalType::Text,
                value: MinHasher::default().sign(&normalize(text)).to_hex(),
                quality: None,
                variant: None,
            }],
            matches: vec![],
        }],
        receipt: None,
    };
    store.write_batch(run, &batch).unwrap();
}

impl GroupingStore for Contended {
    fn grouping_posts(&self, visit: &mut dyn FnMut(GroupPost) -> Result<()>) -> Result<i64> {
        self.store.grouping_posts(visit)
    }
    fn ungrouped_posts(&self) -> Result<u64> {
        self.store.ungrouped_posts()
    }
    fn post_texts(&self, posts: &[marsad_core::PostId]) -> Result<Vec<(marsad_core::PostId, String)>> {
        self.store.post_texts(posts)
    }
    fn apply_grouping(
        &mut self,
        update: &GroupingUpdate,
    ) -> Result<std::collections::HashMap<u32, marsad_core::ReleaseId>> {
        match self.does {
            Other::Ingests => {
                ingest(&mut self.other, self.next_id);
                self.next_id += 1;
            }
            Other::ChangesReleases(n) if self.applied < n => self.other.replace_outlets(&[]).unwrap(),
            Other::ChangesReleases(_) => {}
        }
        self.applied += 1;
        self.store.apply_grouping(update)
    }
    fn release_members(
        &self,
        releases: Option<&[marsad_core::ReleaseId]>,
        visit: &mut dyn FnMut(ReleaseMember) -> Result<()>,
    ) -> Result<()> {
        self.store.release_members(releases, visit)
    }
    fn release_matches(
        &self,
        releases: Option<&[marsad_core::ReleaseId]>,
    ) -> Result<Vec<(marsad_core::ReleaseId, marsad_store::BankEntry)>> {
        self.store.release_matches(releases)
    }
    fn update_releases(&mut self, releases: &[ReleaseRecord]) -> Result<()> {
        self.store.update_releases(releases)
    }
}

impl RegistryStore for Contended {
    fn replace_outlets(&mut self, outlets: &[marsad_store::OutletRecord]) -> Result<()> {
        self.store.replace_outlets(outlets)
    }
    fn outlets(&self) -> Result<Vec<marsad_store::OutletRecord>> {
        self.store.outlets()
    }
}

fn update(store: &mut Contended) -> Result<marsad_observe::update::UpdateSummary> {
    marsad_observe::update::update(store, &GroupConfig::default(), false)
}

fn release_count(store: &SqliteStore) -> usize {
    let mut n = 0;
    store
        .releases(None, &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

#[test]
fn posts_ingested_while_grouping_wait_for_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Contended::new(dir.path(), Other::Ingests);
    let summary = update(&mut s).expect("an ingest meanwhile is no conflict");
    assert_eq!(s.applied, 1, "grouped at the first attempt");
    assert_eq!(summary.new_posts, 4);
    assert_eq!(s.store.ungrouped_posts().unwrap(), 1, "the post ingested meanwhile");
    update(&mut s).expect("the next run");
    assert_eq!(s.store.ungrouped_posts().unwrap(), 1, "and the one ingested during it");
    assert_eq!(release_count(&s.store), 1, "one caption, one release");
}

#[test]
fn a_grouping_beaten_by_another_starts_again_and_does_the_work_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Contended::new(dir.path(), Other::ChangesReleases(2));
    let summary = update(&mut s).expect("grouped at the third attempt");
    assert_eq!(s.applied, 3);
    assert_eq!(summary.new_posts, 4);
    assert_eq!(s.store.ungrouped_posts().unwrap(), 0);
    assert_eq!(release_count(&s.store), 1, "written once");
}

#[test]
fn a_grouping_beaten_every_time_gives_up_saying_why_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Contended::new(dir.path(), Other::ChangesReleases(u32::MAX));
    let err = update(&mut s).expect_err("gives up");
    assert!(matches!(err, StoreError::Changed(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("another process kept changing the releases"), "{message}");
    assert!(message.contains("6 attempts"), "{message}");
    assert_eq!(s.applied, 6, "bounded");
    assert_eq!(s.store.ungrouped_posts().unwrap(), 4, "nothing written");
    assert_eq!(release_count(&s.store), 0);
}
