//! Behaviour every [`Store`] backend must show, one case per function. A
//! backend's test file invokes [`store_suite!`](crate::store_suite) once with
//! a function that makes a fresh, empty store, so that `cargo test` lists
//! every case by name and SQLite and PostgreSQL are held to the same
//! contract.
//!
//! Expected values come from each case's own inputs, never from the store.

use std::collections::{HashMap, HashSet};

use marsad_core::{Md5, MediaKind, Platform, Sha256, SignalType, SignalVariant, SourceKey, UtcTime};

use crate::prelude::*;
use crate::{
    BatchOutcome, EntryFilter, EntryId, Evidence, GroupPost, GroupingUpdate, ItemRef, MatchedItem,
    MediaContent, MediaRef, NewBankEntry, NewDecision, NewFingerprint, NewMatch, NewMedia, NewPost, NewRun,
    NewSource, OutletRecord, PostBatch, PostCursor, PostId, PostQuery, QueueState, ReleaseFormat, ReleaseId,
    ReleaseMember, ReleaseRecord, ReleaseSlot, ReviewTarget, RunSummary, SightingRecord, SourceId, Stats,
    StoreError, Verdict,
};

/// Defines one `#[test]` per case of the shared suite, each on a fresh
/// store. `$make` is called once per case and returns `(guard, store)`: the
/// guard (a temporary folder, a test database's handle, or `()`) is kept
/// until the case ends.
///
/// ```text
/// marsad_store::store_suite!(|| {
///     let dir = tempfile::tempdir().expect("tempdir");
///     let store = SqliteStore::open(&dir.path().join("suite.db")).expect("open");
///     (dir, store)
/// });
/// ```
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        $crate::store_suite!(@cases $make;
            empty_store_counts_nothing,
            batch_round_trips,
            writing_twice_adds_nothing,
            a_queued_batch_is_applied_once,
            a_dead_batch_is_listed_and_can_still_be_applied,
            a_batch_refused_part_way_leaves_nothing,
            a_batch_with_a_bad_match_leaves_nothing,
            media_is_content_addressed,
            missing_media_is_completed_later,
            sources_are_renamed,
            sources_are_listed_by_platform_and_id,
            posts_of_a_source_are_listed_by_time,
            runs_are_recorded,
            finishing_an_unknown_run_is_refused,
            fingerprinted_media_is_known,
            banks_hold_entries_once,
            creating_a_bank_twice_is_a_conflict,
            a_bank_import_is_all_or_nothing,
            deleting_a_missing_bank_is_false,
            adding_to_a_missing_bank_changes_nothing,
            entry_filters_select,
            matches_are_stored_and_listed,
            review_decisions_undo_and_the_ignore_list,
            reviewer_protection_is_kept_per_user_and_day,
            theme_codes_are_one_per_coder_and_release,
            stored_items_are_matched_again,
            a_match_of_a_missing_entry_changes_nothing,
            deleting_a_bank_removes_its_entries_and_matches,
            the_registry_is_replaced_whole,
            grouping_round_trips,
            post_texts_are_read_by_id,
            new_release_slots_get_one_id_each,
            merges_move_posts_and_drop_releases,
            stale_grouping_is_refused,
            release_members_carry_their_posts,
            release_matches_follow_posts_and_media,
            releases_keep_every_format_and_evidence,
            releases_and_sightings_are_read_by_id,
            release_points_and_source_ids_agree,
            an_album_is_one_sighting,
            a_repeated_post_in_one_run_is_ignored_whole,
            repeats_are_known_before_they_are_written,
            an_edit_replaces_the_text_and_keeps_a_version,
            an_older_text_is_kept_as_a_version_only,
            an_older_texts_fingerprints_are_not_the_posts,
            a_repeated_posts_media_fingerprints_go_to_the_next_reference,
            banks_get_hma_names_and_settings,
            content_items_hold_several_signals,
            content_is_updated_and_removed,
            a_follower_sees_every_bank_change,
            signal_type_ratios_are_kept,
            tokens_are_found_by_hash_until_revoked,
            users_are_kept_by_name_and_disabled_not_deleted,
            sessions_last_until_expiry_sign_out_or_a_change_of_their_user,
            the_audit_log_is_read_back_in_order,
            variant_fingerprints_round_trip,
            variant_matches_round_trip,
            jobs_run_once_and_end_once,
            posts_are_searched_and_paged,
        );
        #[test]
        fn stores_have_their_own_identity() {
            let (_guard_a, mut a) = ($make)();
            let (_guard_b, mut b) = ($make)();
            $crate::testsuite::stores_have_their_own_identity(&mut a, &mut b);
        }
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let (_guard, mut store) = ($make)();
                $crate::testsuite::$case(&mut store);
            }
        )*
    };
}

fn source(id: &str) -> NewSource {
    NewSource {
        key: SourceKey { platform: Platform::telegram(), platform_id: id.to_owned() },
        name: format!("Channel {id}"),
        kind: "public_channel".to_owned(),
    }
}

fn media(seed: u8, kind: MediaKind) -> NewMedia {
    NewMedia {
        sha256: Sha256([seed; 32]),
        md5: Md5([seed; 16]),
        kind,
        byte_size: 1000 + u64::from(seed),
        mime: Some("image/jpeg".to_owned()),
        original_path: format!("photos/{seed}.jpg"),
        retained_path: None,
        fingerprints: vec![NewFingerprint {
            signal_type: SignalType::Pdq,
            value: format!("{seed:064x}"),
            quality: Some(90),
            variant: None,
        }],
        matches: vec![],
    }
}

fn post(source: usize, id: u32, media: Vec<MediaRef>) -> NewPost {
    NewPost {
        source,
        platform_post_id: id.to_string(),
        posted_at: UtcTime::from_unix_seconds(1_510_142_400 + i64::from(id) * 60),
        edited_at: id.is_multiple_of(3).then(|| UtcTime::from_unix_seconds(1_510_200_000)),
        text: format!("نص تجريبي رقم {id}"),
        url: None,
        forwarded_from: id.is_multiple_of(2).then(|| "Another Channel".to_owned()),
        reply_to: (id > 1).then(|| (id - 1).to_string()),
        media,
        fingerprints: vec![],
        matches: vec![],
    }
}

fn present(m: NewMedia) -> MediaRef {
    MediaRef { kind: m.kind, path: m.original_path.clone(), content: MediaContent::Present(m) }
}

fn sample_batch() -> PostBatch {
    PostBatch {
        sources: vec![source("1000000001"), source("1000000002")],
        posts: vec![
            post(0, 1, vec![present(media(1, MediaKind::Image))]),
            post(0, 2, vec![]),
            post(1, 1, vec![present(media(2, MediaKind::Video))]),
            post(
                1,
                3,
                vec![MediaRef {
                    kind: MediaKind::Document,
                    path: "files/report.pdf".to_owned(),
                    content: MediaContent::Missing("not included in the export".to_owned()),
                }],
            ),
        ],
        receipt: None,
    }
}

fn run(store: &mut dyn Store) -> crate::RunId {
    store
        .begin_run(&NewRun {
            kind: "test".to_owned(),
            path: "memory".to_owned(),
            started_at: UtcTime::from_unix_seconds(1_700_000_000),
        })
        .expect("begin_run")
}

fn receipt(seq: u64, worker: &str, attempts: u32) -> crate::BatchReceipt {
    crate::BatchReceipt { seq, worker: worker.to_owned(), report: format!("{{\"seq\":{seq}}}"), attempts }
}

/// A queued batch's receipt is written with it: delivered again (by the
/// queue, to any worker), the batch writes nothing and says so; the run's
/// counts and the batches' records follow; a receipt for a run that is
/// not queued is refused with nothing written.
pub fn a_queued_batch_is_applied_once(store: &mut dyn Store) {
    let r = run(store);
    let mut batch = sample_batch();
    batch.receipt = Some(receipt(0, "w1", 1));
    let err = store.write_batch(r, &batch).expect_err("a run not queued");
    assert!(matches!(err, crate::StoreError::Invalid(_)), "{err}");
    assert_eq!(store.stats().expect("stats").posts, 0, "nothing written");

    store.begin_queued_run(r).expect("begin queued");
    store.begin_queued_run(r).expect("begin queued twice is harmless");
    let first = store.write_batch(r, &batch).expect("first delivery");
    assert!(!first.already_applied);
    assert_eq!(first.posts_added, 4);
    let before = store.stats().expect("stats");
    batch.receipt = Some(receipt(0, "w2", 2));
    let again = store.write_batch(r, &batch).expect("second delivery");
    assert!(again.already_applied);
    assert_eq!((again.posts_added, again.posts_existing, again.media_added), (0, 0, 0));
    assert_eq!(store.stats().expect("stats"), before);

    let q = store.queued_run(r).expect("queued run").expect("is queued");
    assert_eq!((q.applied, q.dead, q.posts, q.batches_total), (1, 0, 4, None));
    assert!(!q.settled());
    store.end_publishing(r, 1, "{\"reader\":true}").expect("end publishing");
    let q = store.queued_run(r).expect("queued run").expect("is queued");
    assert!(q.settled());
    assert_eq!(q.reader.as_deref(), Some("{\"reader\":true}"));
    let batches = store.queued_batches(r).expect("batches");
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(
        (b.seq, b.status, b.worker.as_str(), b.attempts),
        (0, crate::QueuedBatchStatus::Applied, "w1", 1)
    );
    assert_eq!((b.outcome.posts_added, b.outcome.media_added, b.posts), (4, first.media_added, 4));
    assert_eq!(b.report, "{\"seq\":0}");
    assert_eq!(store.queued_runs(10).expect("runs").len(), 1);
    let other = run(store);
    assert!(store.queued_run(other).expect("not queued").is_none());
    assert!(store.end_publishing(other, 1, "{}").is_err(), "a run that is not queued");
}

/// A batch given up on is kept as a dead letter and counted; a later
/// delivery that succeeds replaces it; an applied batch is never buried.
pub fn a_dead_batch_is_listed_and_can_still_be_applied(store: &mut dyn Store) {
    let r = run(store);
    store.begin_queued_run(r).expect("begin queued");
    assert!(store.bury_batch(r, 1, "w1", 5, "cannot read media").expect("bury"));
    assert!(store.bury_batch(r, 1, "w2", 6, "again").expect("bury again"));
    store.end_publishing(r, 2, "{}").expect("end");
    let q = store.queued_run(r).expect("run").expect("queued");
    assert_eq!((q.applied, q.dead), (0, 1));
    let dead = store.queued_batches(r).expect("batches");
    assert_eq!(dead[0].status, crate::QueuedBatchStatus::Dead);
    assert_eq!(
        (dead[0].worker.as_str(), dead[0].attempts, dead[0].error.as_deref()),
        ("w2", 6, Some("again"))
    );

    let mut batch = sample_batch();
    batch.receipt = Some(receipt(0, "w1", 1));
    store.write_batch(r, &batch).expect("batch 0");
    batch.receipt = Some(receipt(1, "w3", 7));
    batch.posts.truncate(1);
    let late = store.write_batch(r, &batch).expect("batch 1, late");
    assert!(!late.already_applied);
    let q = store.queued_run(r).expect("run").expect("queued");
    assert_eq!((q.applied, q.dead), (2, 0));
    assert!(q.settled());
    assert!(!store.bury_batch(r, 0, "w1", 5, "late failure").expect("bury an applied batch"));
    assert_eq!(store.queued_batches(r).expect("batches")[0].status, crate::QueuedBatchStatus::Applied);
}

/// A new store holds nothing.
pub fn empty_store_counts_nothing(store: &mut dyn Store) {
    assert_eq!(store.stats().expect("stats"), Stats::default());
    assert!(store.sources().expect("sources").is_empty());
    assert!(store.runs().expect("runs").is_empty());
}

/// What a batch writes is read back by key: posts, media references, media.
pub fn batch_round_trips(store: &mut dyn Store) {
    let run = run(store);
    let batch = sample_batch();
    let outcome = store.write_batch(run, &batch).expect("write");
    assert_eq!(
        outcome,
        BatchOutcome {
            posts_added: 4,
            posts_existing: 0,
            media_added: 2,
            fingerprints_added: 2,
            matches_added: 0,
            posts_edited: 0,
            repeated: vec![],
            already_applied: false,
        }
    );
    assert_eq!(store.stats().expect("stats"), Stats { sources: 2, posts: 4, media: 2, fingerprints: 2 });

    for p in &batch.posts {
        let key = &batch.sources[p.source].key;
        let stored = store.post(key, &p.platform_post_id).expect("post").expect("post is stored");
        assert_eq!(&stored.source, key);
        assert_eq!(stored.posted_at, p.posted_at);
        assert_eq!(stored.edited_at, p.edited_at);
        assert_eq!(stored.text, p.text);
        assert_eq!(stored.forwarded_from, p.forwarded_from);
        assert_eq!(stored.reply_to, p.reply_to);
        assert_eq!(stored.media.len(), p.media.len());
        for (s, m) in stored.media.iter().zip(&p.media) {
            assert_eq!(s.kind, m.kind);
            assert_eq!(s.path, m.path);
            match &m.content {
                MediaContent::Present(nm) => {
                    assert_eq!(s.sha256, Some(nm.sha256));
                    assert_eq!(s.missing, None);
                    let sm = store.media(&nm.sha256).expect("media").expect("media is stored");
                    assert_eq!(sm.md5, nm.md5);
                    assert_eq!(sm.kind, nm.kind);
                    assert_eq!(sm.byte_size, nm.byte_size);
                    assert_eq!(sm.mime, nm.mime);
                    assert_eq!(sm.fingerprints, nm.fingerprints);
                }
                MediaContent::Missing(why) => {
                    assert_eq!(s.sha256, None);
                    assert_eq!(s.missing.as_deref(), Some(why.as_str()));
                }
            }
        }
    }
    let key = &batch.sources[0].key;
    let ids: Vec<_> =
        store.posts_of_source(key).expect("posts").into_iter().map(|p| p.platform_post_id).collect();
    assert_eq!(ids, ["1", "2"]);
    assert!(store.post(key, "999").expect("post").is_none());
    assert!(store.media(&Sha256([9; 32])).expect("media").is_none());
}

/// Writing the same batch again, in a later run, adds nothing (writes are
/// idempotent).
pub fn writing_twice_adds_nothing(store: &mut dyn Store) {
    let first = run(store);
    let batch = sample_batch();
    store.write_batch(first, &batch).expect("write");
    let before = store.stats().expect("stats");
    let later = run(store);
    let again = store.write_batch(later, &batch).expect("write again");
    assert_eq!(
        again,
        BatchOutcome {
            posts_added: 0,
            posts_existing: 4,
            media_added: 0,
            fingerprints_added: 0,
            matches_added: 0,
            posts_edited: 0,
            repeated: vec![],
            already_applied: false,
        }
    );
    assert_eq!(store.stats().expect("stats"), before);
}

/// A media item carried by two posts is stored once; its first path is kept.
pub fn media_is_content_addressed(store: &mut dyn Store) {
    let run = run(store);
    let m = media(7, MediaKind::Image);
    let mut copy = m.clone();
    copy.original_path = "photos/elsewhere.jpg".to_owned();
    let batch = PostBatch {
        sources: vec![source("1"), source("2")],
        posts: vec![post(0, 1, vec![present(m.clone())]), post(1, 5, vec![present(copy)])],
        receipt: None,
    };
    let outcome = store.write_batch(run, &batch).expect("write");
    assert_eq!(outcome.media_added, 1);
    assert_eq!(outcome.fingerprints_added, 1);
    let stored = store.media(&m.sha256).expect("media").expect("stored");
    assert_eq!(stored.original_path, "photos/7.jpg", "first sighting's path is kept");
    let second = store.post(&batch.sources[1].key, "5").expect("post").expect("stored");
    assert_eq!(second.media[0].sha256, Some(m.sha256));
    assert_eq!(second.media[0].path, "photos/elsewhere.jpg");
}

/// A missing media reference is completed by a later ingest that has the file, never erased.
pub fn missing_media_is_completed_later(store: &mut dyn Store) {
    let run = run(store);
    let missing = MediaRef {
        kind: MediaKind::Image,
        path: "photos/3.jpg".to_owned(),
        content: MediaContent::Missing("file not found".to_owned()),
    };
    let first =
        PostBatch { sources: vec![source("1")], posts: vec![post(0, 3, vec![missing])], receipt: None };
    store.write_batch(run, &first).expect("write");
    let m = media(3, MediaKind::Image);
    let second = PostBatch {
        sources: vec![source("1")],
        posts: vec![post(0, 3, vec![present(m.clone())])],
        receipt: None,
    };
    let later = self::run(store);
    let outcome = store.write_batch(later, &second).expect("write");
    assert_eq!(outcome.posts_existing, 1);
    assert_eq!(outcome.media_added, 1);
    let p = store.post(&first.sources[0].key, "3").expect("post").expect("stored");
    assert_eq!(p.media[0].sha256, Some(m.sha256));
    assert_eq!(p.media[0].missing, None);
    // And a later ingest without the file does not erase it again.
    let last = self::run(store);
    store.write_batch(last, &first).expect("write");
    let p = store.post(&first.sources[0].key, "3").expect("post").expect("stored");
    assert_eq!(p.media[0].sha256, Some(m.sha256));
}

/// A later batch with another name for a source renames it.
pub fn sources_are_renamed(store: &mut dyn Store) {
    let run = run(store);
    let mut batch = PostBatch { sources: vec![source("42")], posts: vec![post(0, 1, vec![])], receipt: None };
    store.write_batch(run, &batch).expect("write");
    batch.sources[0].name = "New Name".to_owned();
    store.write_batch(run, &batch).expect("write");
    let sources = store.sources().expect("sources");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].name, "New Name");
}

/// Runs are recorded with their status and summary, oldest first.
pub fn runs_are_recorded(store: &mut dyn Store) {
    let id = run(store);
    let runs = store.runs().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "running");
    assert_eq!(runs[0].finished_at, None);
    let summary = RunSummary {
        completed: true,
        posts_added: 3,
        posts_existing: 1,
        service_skipped: 2,
        media_added: 1,
        media_missing: 1,
        errors: 1,
        error_details: r#"[{"error":"x"}]"#.to_owned(),
    };
    store.finish_run(id, &summary).expect("finish");
    let runs = store.runs().expect("runs");
    assert_eq!(runs[0].status, "completed");
    assert!(runs[0].finished_at.is_some());
    assert_eq!(runs[0].summary, summary);
    let second = run(store);
    store.finish_run(second, &RunSummary { completed: false, ..RunSummary::default() }).expect("finish");
    assert_eq!(store.runs().expect("runs")[1].status, "failed");
}

/// Only media stored with a fingerprint count as fingerprinted.
pub fn fingerprinted_media_is_known(store: &mut dyn Store) {
    let run = run(store);
    let mut bare = media(7, MediaKind::Image);
    bare.fingerprints.clear();
    let batch = PostBatch {
        sources: vec![source("1")],
        posts: vec![post(0, 1, vec![present(media(5, MediaKind::Image)), present(bare)])],
        receipt: None,
    };
    store.write_batch(run, &batch).expect("write");
    let asked = [Sha256([5; 32]), Sha256([7; 32]), Sha256([9; 32])];
    let known = store.fingerprinted_media(&asked).expect("fingerprinted_media");
    // Stored with a fingerprint; stored without one; never stored.
    assert_eq!(known, std::collections::HashSet::from([Sha256([5; 32])]));
    assert!(store.fingerprinted_media(&[]).expect("empty").is_empty());
}

fn entry(t: SignalType, value: &str, label: Option<&str>) -> NewBankEntry {
    NewBankEntry {
        signal_type: t,
        value: value.to_owned(),
        labels: label.map(|l| [("label".to_owned(), l.to_owned())].into_iter().collect()).unwrap_or_default(),
    }
}

fn all_entries(store: &dyn Store, filter: &EntryFilter) -> Vec<crate::BankEntry> {
    streamed(|visit| store.bank_entries(filter, visit))
}

/// A bank holds a signal value once; entries are filtered by type, id and bank.
pub fn banks_hold_entries_once(store: &mut dyn Store) {
    assert!(store.banks().expect("banks").is_empty());
    store.create_bank("known").expect("create");
    assert!(matches!(store.create_bank("known"), Err(StoreError::Conflict(_))));
    assert!(matches!(store.add_bank_entries("missing", &[]), Err(StoreError::NotFound(_))));
    let entries = [
        entry(SignalType::Pdq, &"ab".repeat(32), Some("Example Media")),
        entry(SignalType::Md5, &"0f".repeat(16), None),
        entry(SignalType::Pdq, &"cd".repeat(32), None),
    ];
    assert_eq!(store.add_bank_entries("known", &entries).expect("add"), 3);
    // The same again adds nothing, whatever the labels.
    let mut again = entries.clone();
    again[0].labels.clear();
    assert_eq!(store.add_bank_entries("known", &again).expect("add again"), 0);
    let state = store.bank_state().expect("state");
    assert_eq!(state.entries, 3);
    let ids: Vec<EntryId> = all_entries(store, &EntryFilter::default()).iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 3);
    // The largest id ever given: at least the largest listed (a backend
    // may spend ids on entries it left as they were).
    assert!(state.max_entry_id >= ids.iter().max().copied(), "{state:?}");
    let banks = store.banks().expect("banks");
    assert_eq!(banks.len(), 1);
    assert_eq!(banks[0].entries.get(&SignalType::Pdq), Some(&2));
    let pdq =
        all_entries(store, &EntryFilter { signal_type: Some(SignalType::Pdq), ..EntryFilter::default() });
    assert_eq!(pdq.len(), 2);
    assert_eq!(pdq[0].labels.get("label").map(String::as_str), Some("Example Media"));
    assert!(pdq[0].id < pdq[1].id);
    let later = all_entries(store, &EntryFilter { after_id: Some(pdq[0].id), ..EntryFilter::default() });
    assert_eq!(later.len(), 2);
    let by_id = all_entries(store, &EntryFilter { ids: Some(vec![pdq[1].id]), ..EntryFilter::default() });
    assert_eq!(by_id, vec![pdq[1].clone()]);
    store.create_bank("other").expect("create other");
    store.add_bank_entries("other", &entries[..1]).expect("same value in another bank");
    let only_other =
        all_entries(store, &EntryFilter { banks: Some(vec!["other".to_owned()]), ..EntryFilter::default() });
    assert_eq!(only_other.len(), 1);
    assert_eq!(only_other[0].bank, "other");
}

/// Matches found at ingest are stored once and listed with their items and entries.
pub fn matches_are_stored_and_listed(store: &mut dyn Store) {
    store.create_bank("known").expect("create");
    store
        .add_bank_entries("known", &[entry(SignalType::Pdq, &"01".repeat(32), Some("Outlet"))])
        .expect("add");
    let id = all_entries(store, &EntryFilter::default())[0].id;
    let run = run(store);
    let mut batch = sample_batch();
    let m =
        NewMatch { entry_id: id, signal_type: SignalType::Pdq, distance: 3.0, detail: None, variant: None };
    if let MediaContent::Present(media) = &mut batch.posts[0].media[0].content {
        media.matches.push(m.clone());
    }
    batch.posts[1].matches.push(NewMatch { signal_type: SignalType::Text, distance: 0.1, ..m.clone() });
    let out = store.write_batch(run, &batch).expect("write");
    assert_eq!(out.matches_added, 2);
    assert_eq!(store.write_batch(run, &batch).expect("again").matches_added, 0);
    let listed = store.matches().expect("matches");
    assert_eq!(listed.len(), 2);
    match &listed[0].item {
        MatchedItem::Media { sha256, posts } => {
            assert_eq!(*sha256, Sha256([1; 32]));
            assert_eq!(posts.len(), 1);
            assert_eq!(posts[0].1, "1");
        }
        other => panic!("expected a media match, got {other:?}"),
    }
    assert!(matches!(&listed[1].item, MatchedItem::Post { post_id, .. } if post_id == "2"));
    assert_eq!(listed[0].entry.labels.get("label").map(String::as_str), Some("Outlet"));
    assert_eq!((listed[0].distance, listed[1].signal_type), (3.0, SignalType::Text));
}

/// Stored items are streamed with their fingerprints and their later matches stored once.
pub fn stored_items_are_matched_again(store: &mut dyn Store) {
    let run = run(store);
    let mut batch = sample_batch();
    let text = NewFingerprint {
        signal_type: SignalType::Text,
        value: "0000000a".repeat(4),
        quality: None,
        variant: None,
    };
    batch.posts[1].fingerprints.push(text.clone());
    store.write_batch(run, &batch).expect("write");
    let items = streamed(|visit| store.matchable_items(visit));
    // The two media items (the missing document is none), then the post
    // with a text fingerprint; posts without fingerprints are not items.
    assert_eq!(items.len(), 3, "{items:?}");
    let digest =
        |t: SignalType, value: String| NewFingerprint { signal_type: t, value, quality: None, variant: None };
    assert_eq!(items[0].item, ItemRef::Media(Sha256([1; 32])));
    assert_eq!(
        items[0].fingerprints,
        [
            digest(SignalType::Md5, "01".repeat(16)),
            digest(SignalType::Sha256, "01".repeat(32)),
            NewFingerprint {
                signal_type: SignalType::Pdq,
                value: format!("{:064x}", 1),
                quality: Some(90),
                variant: None
            },
        ]
    );
    assert_eq!(items[0].text, None);
    assert_eq!(items[1].item, ItemRef::Media(Sha256([2; 32])));
    assert!(matches!(items[2].item, ItemRef::Post(_)), "{:?}", items[2]);
    assert_eq!(items[2].fingerprints, [text]);
    assert_eq!(items[2].text.as_deref(), Some("نص تجريبي رقم 2"));
    // Their matches are stored once.
    store.create_bank("late").expect("create");
    store.add_bank_entries("late", &[entry(SignalType::Pdq, &"01".repeat(32), Some("Outlet"))]).expect("add");
    let id = all_entries(store, &EntryFilter::default())[0].id;
    let m =
        NewMatch { entry_id: id, signal_type: SignalType::Pdq, distance: 2.0, detail: None, variant: None };
    let found =
        [(items[0].item, m.clone()), (items[2].item, NewMatch { signal_type: SignalType::Text, ..m })];
    assert_eq!(store.add_matches(&found).expect("add"), 2);
    assert_eq!(store.add_matches(&found).expect("again"), 0);
    let listed = store.matches().expect("matches");
    assert_eq!(listed.len(), 2);
    assert!(matches!(&listed[0].item, MatchedItem::Media { sha256, .. } if *sha256 == Sha256([1; 32])));
    assert!(matches!(&listed[1].item, MatchedItem::Post { post_id, .. } if post_id == "2"));
    assert_eq!(listed[0].distance, 2.0);
}

/// Deleting a bank removes its entries and matches, keeps posts, and never reuses ids.
pub fn deleting_a_bank_removes_its_entries_and_matches(store: &mut dyn Store) {
    store.create_bank("gone").expect("create");
    store.add_bank_entries("gone", &[entry(SignalType::Pdq, &"02".repeat(32), None)]).expect("add");
    let id = all_entries(store, &EntryFilter::default())[0].id;
    let run = run(store);
    let mut batch = sample_batch();
    if let MediaContent::Present(media) = &mut batch.posts[0].media[0].content {
        media.matches.push(NewMatch {
            entry_id: id,
            signal_type: SignalType::Pdq,
            distance: 0.0,
            detail: None,
            variant: None,
        });
    }
    store.write_batch(run, &batch).expect("write");
    let before = store.bank_state().expect("state");
    assert!(store.delete_bank("gone").expect("delete"));
    assert!(!store.delete_bank("gone").expect("delete again"));
    let after = store.bank_state().expect("state");
    assert_eq!(after.entries, 0);
    assert!(after.generation > before.generation, "deletion changes the generation");
    assert_eq!(after.max_entry_id, before.max_entry_id, "ids are never reused");
    assert!(store.matches().expect("matches").is_empty());
    assert_eq!(store.stats().expect("stats").posts, 4, "posts are kept");
}

fn outlet(name: &str, channel: &str) -> OutletRecord {
    OutletRecord {
        name: name.to_owned(),
        aliases: vec![format!("{name} (alias)"), "مكتب".to_owned()],
        channels: vec![SourceKey { platform: Platform::telegram(), platform_id: channel.to_owned() }],
        region: Some("north".to_owned()),
        parent: None,
    }
}

/// The registry is replaced whole, kept in order, and changes the releases' generation.
pub fn the_registry_is_replaced_whole(store: &mut dyn Store) {
    assert!(store.outlets().expect("outlets").is_empty());
    let first = vec![outlet("Zeta Office", "1000000001"), outlet("Alpha Office", "1000000002")];
    store.replace_outlets(&first).expect("replace");
    assert_eq!(store.outlets().expect("outlets"), first, "kept in the order given");
    let generation = store.releases_generation().expect("generation");
    let second = vec![outlet("Beta Office", "1000000003")];
    store.replace_outlets(&second).expect("replace");
    assert_eq!(store.outlets().expect("outlets"), second);
    assert_ne!(
        store.releases_generation().expect("generation"),
        generation,
        "a new registry changes releases"
    );
}

/// Everything a streaming read hands its visitor, in order.
fn streamed<T, R>(read: impl FnOnce(&mut dyn FnMut(T) -> crate::Result<()>) -> crate::Result<R>) -> Vec<T> {
    let mut out = Vec::new();
    read(&mut |x| {
        out.push(x);
        Ok(())
    })
    .expect("streaming read");
    out
}

fn grouping_posts_of(store: &dyn Store) -> Vec<GroupPost> {
    streamed(|visit| store.grouping_posts(visit))
}

fn all_releases(store: &dyn Store) -> Vec<ReleaseRecord> {
    streamed(|visit| store.releases(None, visit))
}

/// Grouping decisions, descriptions and sightings round-trip.
pub fn grouping_round_trips(store: &mut dyn Store) {
    let run = run(store);
    store.write_batch(run, &sample_batch()).expect("write");
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 4);
    let posts = grouping_posts_of(store);
    assert_eq!(posts.len(), 4);
    assert!(posts.windows(2).all(|w| w[0].id < w[1].id), "by id");
    assert!(posts.iter().all(|p| p.release_id.is_none()));
    let texts: Vec<Option<String>> = posts.iter().map(|p| p.text.clone()).collect();
    let written: Vec<Option<String>> = sample_batch().posts.iter().map(|p| Some(p.text.clone())).collect();
    assert_eq!(texts, written, "texts of posts not yet grouped, in the order written");
    // The image's PDQ fingerprint comes with its media reference.
    let with_image =
        posts.iter().find(|p| p.media.first().is_some_and(|m| m.pdq.is_some())).expect("image post");
    assert_eq!(with_image.media[0].pdq, Some((format!("{:064x}", 1), 90)));

    // Two releases: the first two posts, and the other two.
    let generation = store.releases_generation().expect("generation");
    let update = GroupingUpdate {
        assign: vec![
            (posts[0].id, ReleaseSlot::New(1)),
            (posts[1].id, ReleaseSlot::New(1)),
            (posts[2].id, ReleaseSlot::New(2)),
            (posts[3].id, ReleaseSlot::New(2)),
        ],
        text_linkable: vec![posts[0].id],
        merged: vec![],
        generation: store.releases_generation().expect("generation"),
    };
    let ids = store.apply_grouping(&update).expect("apply");
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[&1], ids[&2]);
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 0);
    assert_ne!(store.releases_generation().expect("generation"), generation);
    let regrouped = grouping_posts_of(store);
    assert_eq!(regrouped[0].release_id, Some(ids[&1]));
    assert_eq!(regrouped[3].release_id, Some(ids[&2]));
    assert!(regrouped.iter().all(|p| p.text.is_none()), "grouped posts' texts are not read again");

    let members = streamed(|visit| store.release_members(Some(&[ids[&2]]), visit));
    assert_eq!(members.len(), 2);
    assert!(members.iter().all(|m| m.release_id == ids[&2]));
    assert!(members[0].posted_at <= members[1].posted_at, "by time");

    let t = |s| UtcTime::from_unix_seconds(s);
    let record = |id: ReleaseId, first: i64| ReleaseRecord {
        id,
        first_seen: t(first),
        last_seen: t(first + 60),
        sightings: 2,
        channels: 1,
        format: ReleaseFormat::Photo,
        language: Some("ar".to_owned()),
        outlet: Some("Zeta Office".to_owned()),
        evidence: Evidence::Channel {
            channel: SourceKey { platform: Platform::telegram(), platform_id: "1000000001".to_owned() },
            post_id: "1".to_owned(),
            posted_at: t(first),
        },
        first_source: Some(SourceKey {
            platform: Platform::telegram(),
            platform_id: "1000000001".to_owned(),
        }),
    };
    let described = vec![record(ids[&2], 1_510_142_400), record(ids[&1], 1_510_142_460)];
    store.update_releases(&described).expect("update_releases");
    let stored = all_releases(store);
    assert_eq!(stored, vec![described[0].clone(), described[1].clone()], "by first seen");

    let sightings = streamed(|visit| store.sightings(None, visit));
    assert_eq!(sightings.len(), 4, "four posts in four distinct (source, second)s");
    assert_eq!(sightings.iter().map(|s| s.posts).sum::<u64>(), 4);
}

/// A merge moves posts to the kept release and deletes the emptied one.
pub fn merges_move_posts_and_drop_releases(store: &mut dyn Store) {
    let run = run(store);
    store.write_batch(run, &sample_batch()).expect("write");
    let posts = grouping_posts_of(store);
    let ids = store
        .apply_grouping(&GroupingUpdate {
            assign: posts.iter().enumerate().map(|(i, p)| (p.id, ReleaseSlot::New(i as u32))).collect(),
            text_linkable: vec![],
            merged: vec![],
            generation: store.releases_generation().expect("generation"),
        })
        .expect("apply");
    assert_eq!(ids.len(), 4);
    assert_eq!(all_releases(store).len(), 4);
    // A new post links releases 1 and 2: everything moves to release 1.
    let mut batch = sample_batch();
    batch.posts = vec![post(0, 9, vec![])];
    store.write_batch(run, &batch).expect("write");
    let new_post = grouping_posts_of(store).into_iter().find(|p| p.release_id.is_none()).expect("new post");
    let (keep, gone) = (ids[&0], ids[&1]);
    store
        .apply_grouping(&GroupingUpdate {
            assign: vec![
                (new_post.id, ReleaseSlot::Existing(keep)),
                (posts[1].id, ReleaseSlot::Existing(keep)),
            ],
            text_linkable: vec![new_post.id],
            merged: vec![gone],
            generation: store.releases_generation().expect("generation"),
        })
        .expect("apply");
    let releases: Vec<ReleaseId> = all_releases(store).iter().map(|r| r.id).collect();
    assert_eq!(releases.len(), 3);
    assert!(!releases.contains(&gone));
    let regrouped = grouping_posts_of(store);
    assert_eq!(regrouped.iter().filter(|p| p.release_id == Some(keep)).count(), 3);
}

/// A grouping read before another process changed the releases is refused
/// and writes nothing; posts added since it was read do not make it stale.
pub fn stale_grouping_is_refused(store: &mut dyn Store) {
    let run = run(store);
    store.write_batch(run, &sample_batch()).expect("write");
    let mut posts = Vec::new();
    let read_at = store
        .grouping_posts(&mut |p| {
            posts.push(p);
            Ok(())
        })
        .expect("grouping_posts");
    assert_eq!(read_at, store.releases_generation().expect("generation"), "the snapshot's generation");
    // Another process groups the first post meanwhile.
    store
        .apply_grouping(&GroupingUpdate {
            assign: vec![(posts[0].id, ReleaseSlot::New(0))],
            text_linkable: vec![],
            merged: vec![],
            generation: read_at,
        })
        .expect("the other process's grouping");
    let generation = store.releases_generation().expect("generation");
    let stale = GroupingUpdate {
        assign: posts.iter().map(|p| (p.id, ReleaseSlot::New(0))).collect(),
        text_linkable: vec![],
        merged: vec![],
        generation: read_at,
    };
    let err = store.apply_grouping(&stale).expect_err("a stale update is refused");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 3, "nothing written");
    assert_eq!(all_releases(store).len(), 1);
    assert_eq!(store.releases_generation().expect("generation"), generation);

    // An ingest adds a post after a run read the others: the run's update
    // stands, and the new post waits for the next run.
    let mut ungrouped = Vec::new();
    let read_at = store
        .grouping_posts(&mut |p| {
            if p.release_id.is_none() {
                ungrouped.push(p.id);
            }
            Ok(())
        })
        .expect("grouping_posts");
    let mut batch = sample_batch();
    batch.posts = vec![post(0, 9, vec![])];
    store.write_batch(run, &batch).expect("write");
    store
        .apply_grouping(&GroupingUpdate {
            assign: ungrouped.iter().map(|&p| (p, ReleaseSlot::New(0))).collect(),
            text_linkable: vec![],
            merged: vec![],
            generation: read_at,
        })
        .expect("posts added meanwhile are no conflict");
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 1, "the new post, for the next run");
}

/// Everything a reader can see, to compare before and after a refused
/// write.
#[derive(Debug, PartialEq)]
struct Contents {
    stats: Stats,
    sources: Vec<crate::StoredSource>,
    posts: Vec<Vec<crate::StoredPost>>,
    banks: Vec<crate::BankInfo>,
    bank_state: crate::BankState,
    entries: Vec<crate::BankEntry>,
    matches: Vec<crate::StoredMatch>,
    ungrouped: u64,
    releases: Vec<ReleaseRecord>,
    generation: i64,
}

fn contents(store: &dyn Store) -> Contents {
    let sources = store.sources().expect("sources");
    Contents {
        stats: store.stats().expect("stats"),
        posts: sources.iter().map(|s| store.posts_of_source(&s.key).expect("posts")).collect(),
        sources,
        banks: store.banks().expect("banks"),
        bank_state: store.bank_state().expect("bank_state"),
        entries: all_entries(store, &EntryFilter::default()),
        matches: store.matches().expect("matches"),
        ungrouped: store.ungrouped_posts().expect("ungrouped"),
        releases: all_releases(store),
        generation: store.releases_generation().expect("generation"),
    }
}

/// A batch whose second post names a source the batch does not have is
/// refused ([`StoreError::Invalid`]) and its first post is not kept.
pub fn a_batch_refused_part_way_leaves_nothing(store: &mut dyn Store) {
    let run = run(store);
    let mut first = sample_batch();
    first.posts.truncate(1);
    store.write_batch(run, &first).expect("write");
    let before = contents(store);
    let bad = PostBatch {
        sources: vec![source("1000000002"), source("1000000003")],
        posts: vec![post(0, 7, vec![present(media(7, MediaKind::Image))]), post(5, 8, vec![])],
        receipt: None,
    };
    let err = store.write_batch(run, &bad).expect_err("a post of source #5 of 2");
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(contents(store), before, "nothing of the refused batch is kept");
    assert!(store.post(&bad.sources[0].key, "7").expect("post").is_none());
    assert!(store.media(&Sha256([7; 32])).expect("media").is_none());
    // The store still takes the good part afterwards.
    let mut good = bad.clone();
    good.posts.truncate(1);
    assert_eq!(store.write_batch(run, &good).expect("write").posts_added, 1);
}

/// A batch whose last post carries a match of an entry that does not exist
/// is refused whole.
pub fn a_batch_with_a_bad_match_leaves_nothing(store: &mut dyn Store) {
    let run = run(store);
    let before = contents(store);
    let mut batch = sample_batch();
    let last = batch.posts.len() - 1;
    batch.posts[last].matches.push(NewMatch {
        entry_id: EntryId(424_242),
        signal_type: SignalType::Text,
        distance: 0.0,
        detail: None,
        variant: None,
    });
    store.write_batch(run, &batch).expect_err("no such bank entry");
    assert_eq!(contents(store), before);
}

/// Sources are listed by platform, then platform id, whatever the order
/// they were written in.
pub fn sources_are_listed_by_platform_and_id(store: &mut dyn Store) {
    let run = run(store);
    let x = Platform::new("x").expect("platform");
    let mut on_x = source("3");
    on_x.key.platform = x.clone();
    let batch = PostBatch {
        sources: vec![on_x, source("2"), source("1")],
        posts: vec![post(0, 1, vec![]), post(1, 1, vec![]), post(2, 1, vec![])],
        receipt: None,
    };
    store.write_batch(run, &batch).expect("write");
    let keys: Vec<String> = store.sources().expect("sources").iter().map(|s| s.key.to_string()).collect();
    assert_eq!(keys, ["telegram:1", "telegram:2", "x:3"]);
    let stored = store.sources().expect("sources");
    assert_eq!((stored[2].name.as_str(), stored[2].kind.as_str()), ("Channel 3", "public_channel"));
}

/// Posts of a source come by time, then platform post id; another source's
/// posts and unknown sources give none.
pub fn posts_of_a_source_are_listed_by_time(store: &mut dyn Store) {
    let run = run(store);
    let at = |p: NewPost, s: i64| NewPost { posted_at: UtcTime::from_unix_seconds(s), ..p };
    let batch = PostBatch {
        sources: vec![source("1"), source("2")],
        posts: vec![
            at(post(0, 5, vec![]), 300),
            at(post(0, 3, vec![]), 100),
            at(post(0, 4, vec![]), 300),
            at(post(1, 1, vec![]), 200),
        ],
        receipt: None,
    };
    store.write_batch(run, &batch).expect("write");
    let ids = |key: &SourceKey| -> Vec<String> {
        store.posts_of_source(key).expect("posts").into_iter().map(|p| p.platform_post_id).collect()
    };
    assert_eq!(ids(&batch.sources[0].key), ["3", "4", "5"]);
    assert_eq!(ids(&batch.sources[1].key), ["1"]);
    assert!(ids(&source("9").key).is_empty());
}

/// Finishing a run the store never began is refused.
pub fn finishing_an_unknown_run_is_refused(store: &mut dyn Store) {
    let id = run(store);
    let err = store.finish_run(crate::RunId(id.0 + 1000), &RunSummary::default()).expect_err("unknown run");
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let runs = store.runs().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].id, runs[0].status.as_str()), (id, "running"));
}

/// An import is seen whole once committed, and not at all when dropped
/// before: not its entries, not the bank it created.
pub fn a_bank_import_is_all_or_nothing(store: &mut dyn Store) {
    let md5 = |i: u32| entry(SignalType::Md5, &format!("{i:032x}"), None);
    let first: Vec<NewBankEntry> = (1..=3).map(md5).collect();
    let mut import = store.begin_bank_import("new", true).expect("begin");
    assert!(import.created());
    assert_eq!(import.add(&first).expect("add"), 3);
    drop(import);
    assert!(store.banks().expect("banks").is_empty(), "the bank it created is gone too");
    let err = store.begin_bank_import("new", false).err().expect("no such bank");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    let mut import = store.begin_bank_import("new", true).expect("begin");
    assert_eq!(import.add(&first).expect("add"), 3);
    assert_eq!(import.add(&[md5(3), md5(4)]).expect("add"), 1, "an entry held already is not new");
    import.commit().expect("commit");
    let banks = store.banks().expect("banks");
    assert_eq!(banks.len(), 1);
    assert_eq!(banks[0].entries.get(&SignalType::Md5), Some(&4));

    // Into a bank that exists: created() is false; dropped, it keeps the
    // four entries it had.
    let mut import = store.begin_bank_import("new", true).expect("begin");
    assert!(!import.created());
    import.add(&[md5(5)]).expect("add");
    drop(import);
    assert_eq!(store.banks().expect("banks")[0].entries.get(&SignalType::Md5), Some(&4));
}

/// Creating a bank whose name is taken is a conflict and leaves the first.
pub fn creating_a_bank_twice_is_a_conflict(store: &mut dyn Store) {
    let made = store.create_bank("known").expect("create");
    assert_eq!(made.name, "known");
    assert!(made.entries.is_empty());
    store.add_bank_entries("known", &[entry(SignalType::Md5, &"0a".repeat(16), None)]).expect("add");
    let err = store.create_bank("known").expect_err("taken");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let banks = store.banks().expect("banks");
    assert_eq!(banks.len(), 1);
    assert_eq!((banks[0].id, banks[0].entries.get(&SignalType::Md5)), (made.id, Some(&1)));
    store.create_bank("alpha").expect("create");
    let names: Vec<String> = store.banks().expect("banks").into_iter().map(|b| b.name).collect();
    assert_eq!(names, ["alpha", "known"], "by name");
}

/// Deleting a bank that does not exist says so and changes nothing.
pub fn deleting_a_missing_bank_is_false(store: &mut dyn Store) {
    store.create_bank("kept").expect("create");
    store.add_bank_entries("kept", &[entry(SignalType::Md5, &"0b".repeat(16), None)]).expect("add");
    let before = contents(store);
    assert!(!store.delete_bank("never made").expect("delete"));
    assert_eq!(contents(store), before);
}

/// Adding entries to a bank that does not exist is
/// [`StoreError::NotFound`] and adds them nowhere.
pub fn adding_to_a_missing_bank_changes_nothing(store: &mut dyn Store) {
    store.create_bank("kept").expect("create");
    let before = contents(store);
    assert_eq!(before.bank_state.max_entry_id, None, "no entry yet");
    let err = store
        .add_bank_entries("missing", &[entry(SignalType::Pdq, &"ab".repeat(32), Some("x"))])
        .expect_err("no such bank");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(contents(store), before);
}

/// Entry filters: no filter selects all; an empty list of banks or ids
/// selects none; the filters combine.
pub fn entry_filters_select(store: &mut dyn Store) {
    store.create_bank("a").expect("create");
    store.create_bank("b").expect("create");
    let values = ["01", "02", "03"].map(|v| v.repeat(16));
    store.add_bank_entries("a", &[entry(SignalType::Md5, &values[0], None)]).expect("add");
    store
        .add_bank_entries(
            "b",
            &[
                entry(SignalType::Md5, &values[1], Some("two")),
                entry(SignalType::Sha256, &values[2].repeat(2), None),
            ],
        )
        .expect("add");
    let all = all_entries(store, &EntryFilter::default());
    assert_eq!(all.len(), 3);
    let got =
        |f: EntryFilter| -> Vec<String> { all_entries(store, &f).into_iter().map(|e| e.value).collect() };
    assert!(got(EntryFilter { banks: Some(vec![]), ..EntryFilter::default() }).is_empty());
    assert!(got(EntryFilter { ids: Some(vec![]), ..EntryFilter::default() }).is_empty());
    assert_eq!(
        got(EntryFilter {
            banks: Some(vec!["b".to_owned()]),
            signal_type: Some(SignalType::Md5),
            ..EntryFilter::default()
        }),
        [values[1].clone()]
    );
    assert_eq!(
        got(EntryFilter {
            ids: Some(vec![all[2].id, all[0].id]),
            after_id: Some(all[0].id),
            ..EntryFilter::default()
        }),
        [values[2].repeat(2)]
    );
    assert_eq!(all[1].labels.get("label").map(String::as_str), Some("two"));
    assert_eq!((all[0].bank.as_str(), all[1].bank.as_str()), ("a", "b"));
    // By value, and a page of them.
    assert_eq!(
        got(EntryFilter { value: Some(values[1].clone()), ..EntryFilter::default() }),
        [values[1].clone()]
    );
    assert!(got(EntryFilter { value: Some("0".repeat(32)), ..EntryFilter::default() }).is_empty());
    assert_eq!(
        got(EntryFilter { limit: Some(2), ..EntryFilter::default() }),
        [values[0].clone(), values[1].clone()]
    );
    assert_eq!(
        got(EntryFilter { limit: Some(1), after_id: Some(all[0].id), ..EntryFilter::default() }),
        [values[1].clone()]
    );
    assert!(got(EntryFilter { limit: Some(0), ..EntryFilter::default() }).is_empty());
    assert_eq!(
        got(EntryFilter {
            ids: Some(vec![all[0].id, all[1].id, all[2].id]),
            limit: Some(2),
            ..EntryFilter::default()
        })
        .len(),
        2
    );
}

/// Storing a match of an entry that does not exist is refused whole.
pub fn a_match_of_a_missing_entry_changes_nothing(store: &mut dyn Store) {
    let run = run(store);
    store.write_batch(run, &sample_batch()).expect("write");
    store.create_bank("b").expect("create");
    store.add_bank_entries("b", &[entry(SignalType::Pdq, &"01".repeat(32), None)]).expect("add");
    let id = all_entries(store, &EntryFilter::default())[0].id;
    let good =
        NewMatch { entry_id: id, signal_type: SignalType::Pdq, distance: 1.0, detail: None, variant: None };
    let bad = NewMatch { entry_id: EntryId(id.0 + 1000), ..good.clone() };
    let before = contents(store);
    let item = ItemRef::Media(Sha256([1; 32]));
    store.add_matches(&[(item, good.clone()), (item, bad)]).expect_err("no such entry");
    assert_eq!(contents(store), before);
    assert_eq!(store.add_matches(&[(item, good)]).expect("add"), 1);
}

fn grouped(
    store: &mut dyn Store,
    batch: &PostBatch,
    slots: &[u32],
) -> (Vec<GroupPost>, HashMap<u32, ReleaseId>) {
    let run = run(store);
    store.write_batch(run, batch).expect("write");
    let posts = grouping_posts_of(store);
    assert_eq!(posts.len(), slots.len());
    let ids = store
        .apply_grouping(&GroupingUpdate {
            assign: posts.iter().zip(slots).map(|(p, &n)| (p.id, ReleaseSlot::New(n))).collect(),
            text_linkable: vec![],
            merged: vec![],
            generation: store.releases_generation().expect("generation"),
        })
        .expect("apply");
    (posts, ids)
}

/// Texts are read by post id; ids not stored are left out.
pub fn post_texts_are_read_by_id(store: &mut dyn Store) {
    let run = run(store);
    let batch = sample_batch();
    store.write_batch(run, &batch).expect("write");
    let posts = grouping_posts_of(store);
    let wanted = [posts[3].id, posts[1].id, PostId(posts[3].id.0 + 1000)];
    let mut texts = store.post_texts(&wanted).expect("texts");
    texts.sort();
    let mut expected =
        vec![(posts[1].id, batch.posts[1].text.clone()), (posts[3].id, batch.posts[3].text.clone())];
    expected.sort();
    assert_eq!(texts, expected);
    assert!(store.post_texts(&[]).expect("none").is_empty());
}

/// Each new slot number is one new release, whatever numbers the caller
/// chose; the returned map is keyed by those numbers.
pub fn new_release_slots_get_one_id_each(store: &mut dyn Store) {
    let (posts, ids) = grouped(store, &sample_batch(), &[7, 40, 7, 3]);
    assert_eq!(ids.keys().copied().collect::<HashSet<u32>>(), HashSet::from([3, 7, 40]));
    assert_eq!(ids.values().copied().collect::<HashSet<ReleaseId>>().len(), 3);
    let of: HashMap<PostId, Option<ReleaseId>> =
        grouping_posts_of(store).into_iter().map(|p| (p.id, p.release_id)).collect();
    assert_eq!(of[&posts[0].id], Some(ids[&7]));
    assert_eq!(of[&posts[2].id], Some(ids[&7]));
    assert_eq!(of[&posts[1].id], Some(ids[&40]));
    assert_eq!(of[&posts[3].id], Some(ids[&3]));
    let mut releases: Vec<ReleaseId> = all_releases(store).iter().map(|r| r.id).collect();
    releases.sort();
    let mut given: Vec<ReleaseId> = ids.values().copied().collect();
    given.sort();
    assert_eq!(releases, given);
}

/// Release members carry their post's source, ids, text and media kinds,
/// by release then time.
pub fn release_members_carry_their_posts(store: &mut dyn Store) {
    let batch = sample_batch();
    let (posts, ids) = grouped(store, &batch, &[1, 2, 1, 2]);
    let sources: HashMap<SourceKey, SourceId> =
        store.source_ids().expect("source ids").into_iter().map(|(id, k)| (k, id)).collect();
    let members: Vec<ReleaseMember> = streamed(|visit| store.release_members(None, visit));
    assert_eq!(members.len(), 4);
    let mut expected: Vec<ReleaseMember> = batch
        .posts
        .iter()
        .zip(&posts)
        .zip([1, 2, 1, 2])
        .map(|((p, g), n)| {
            let key = batch.sources[p.source].key.clone();
            ReleaseMember {
                release_id: ids[&n],
                post_id: g.id,
                source_id: sources[&key],
                source: key,
                platform_post_id: p.platform_post_id.clone(),
                posted_at: p.posted_at,
                text: p.text.clone(),
                media_kinds: p.media.iter().map(|m| m.kind).collect(),
            }
        })
        .collect();
    expected.sort_by_key(|m| (m.release_id, m.posted_at));
    assert_eq!(members, expected);
    let mut only = Vec::new();
    store
        .release_members(Some(&[ids[&1]]), &mut |m| {
            only.push(m.post_id);
            Ok(())
        })
        .expect("members");
    assert_eq!(only, [posts[0].id, posts[2].id]);
    let mut none = 0;
    store
        .release_members(Some(&[]), &mut |_| {
            none += 1;
            Ok(())
        })
        .expect("members");
    assert_eq!(none, 0);
}

/// The entries a release matched: through its posts' media and through
/// its posts' own (text) matches.
pub fn release_matches_follow_posts_and_media(store: &mut dyn Store) {
    store.create_bank("b").expect("create");
    store
        .add_bank_entries(
            "b",
            &[
                entry(SignalType::Pdq, &"01".repeat(32), Some("image")),
                entry(SignalType::Text, "0000000a", Some("text")),
            ],
        )
        .expect("add");
    let entries = all_entries(store, &EntryFilter::default());
    let mut batch = sample_batch();
    if let MediaContent::Present(m) = &mut batch.posts[0].media[0].content {
        m.matches.push(NewMatch {
            entry_id: entries[0].id,
            signal_type: SignalType::Pdq,
            distance: 0.0,
            detail: None,
            variant: None,
        });
    }
    batch.posts[3].matches.push(NewMatch {
        entry_id: entries[1].id,
        signal_type: SignalType::Text,
        distance: 0.1,
        detail: None,
        variant: None,
    });
    // Posts 0 and 1 in release 1, post 2 alone in 2, post 3 alone in 3.
    let (_, ids) = grouped(store, &batch, &[1, 1, 2, 3]);
    let mut all: Vec<(ReleaseId, EntryId)> =
        store.release_matches(None).expect("matches").into_iter().map(|(r, e)| (r, e.id)).collect();
    all.sort();
    let mut expected = vec![(ids[&1], entries[0].id), (ids[&3], entries[1].id)];
    expected.sort();
    assert_eq!(all, expected);
    let some = store.release_matches(Some(&[ids[&3], ids[&2]])).expect("matches");
    assert_eq!(some.len(), 1);
    assert_eq!((some[0].0, &some[0].1), (ids[&3], &entries[1]));
    assert!(store.release_matches(Some(&[ids[&2]])).expect("matches").is_empty());
}

/// Every format and every kind of evidence is stored and read back as
/// written.
pub fn releases_keep_every_format_and_evidence(store: &mut dyn Store) {
    let batch = PostBatch {
        sources: vec![source("1")],
        posts: (1..=ReleaseFormat::ALL.len() as u32).map(|i| post(0, i, vec![])).collect(),
        receipt: None,
    };
    let slots: Vec<u32> = (0..batch.posts.len() as u32).collect();
    let (_, ids) = grouped(store, &batch, &slots);
    let key = batch.sources[0].key.clone();
    let evidence = [
        Evidence::Channel {
            channel: key.clone(),
            post_id: "1".to_owned(),
            posted_at: batch.posts[0].posted_at,
        },
        Evidence::BankLabel {
            bank: "b".to_owned(),
            entry_id: EntryId(3),
            label: "outlet".to_owned(),
            value: "مؤسسة \"النخيل\"".to_owned(),
        },
        Evidence::Text { channel: key.clone(), post_id: "3".to_owned(), name: "palm grove".to_owned() },
        Evidence::None,
    ];
    let described: Vec<ReleaseRecord> = ReleaseFormat::ALL
        .into_iter()
        .enumerate()
        .map(|(i, format)| ReleaseRecord {
            id: ids[&(i as u32)],
            first_seen: batch.posts[i].posted_at,
            last_seen: batch.posts[i].posted_at,
            sightings: 1,
            channels: 1,
            format,
            language: (i % 2 == 0).then(|| "ar".to_owned()),
            outlet: (i % 3 != 2).then(|| format!("Outlet {i}")),
            evidence: evidence[i % evidence.len()].clone(),
            first_source: (i != 4).then(|| key.clone()),
        })
        .collect();
    store.update_releases(&described).expect("update");
    assert_eq!(all_releases(store), described, "by first seen");
}

/// Releases and sightings read by id are those of the whole read, in its
/// order: unknown and repeated ids are left out, however many are asked
/// for (more than one statement's parameters here).
pub fn releases_and_sightings_are_read_by_id(store: &mut dyn Store) {
    let n = 1_201u32;
    let batch = PostBatch {
        sources: vec![source("1")],
        posts: (1..=n).map(|i| post(0, i, vec![])).collect(),
        receipt: None,
    };
    // two posts per release, a minute apart (two sightings)
    let slots: Vec<u32> = (0..n).map(|i| i / 2).collect();
    let (_, ids) = grouped(store, &batch, &slots);
    let every = all_releases(store);
    let every_sighting = streamed(|visit| store.sightings(None, visit));
    assert_eq!(every.len(), ids.len());
    assert_eq!(every_sighting.len(), n as usize);
    let subset = |wanted: &[ReleaseId]| {
        let set: HashSet<ReleaseId> = wanted.iter().copied().collect();
        let releases: Vec<ReleaseRecord> = every.iter().filter(|r| set.contains(&r.id)).cloned().collect();
        let sightings: Vec<SightingRecord> =
            every_sighting.iter().filter(|s| set.contains(&s.release_id)).cloned().collect();
        (releases, sightings)
    };
    let read = |wanted: &[ReleaseId]| {
        (
            streamed(|visit| store.releases(Some(wanted), visit)),
            streamed(|visit| store.sightings(Some(wanted), visit)),
        )
    };
    let one = [ids[&7]];
    let (releases, sightings) = read(&one);
    assert_eq!(releases.len(), 1);
    assert_eq!(sightings.len(), 2);
    assert_eq!((releases, sightings), subset(&one));
    assert_eq!(read(&[]), (vec![], vec![]));
    assert_eq!(read(&[ReleaseId(i64::MAX)]), (vec![], vec![]));
    let mut wanted: Vec<ReleaseId> = ids.values().copied().filter(|r| r.0 % 3 != 0).collect();
    wanted.extend(wanted.clone());
    wanted.push(ReleaseId(i64::MAX));
    wanted.reverse();
    assert!(wanted.len() > 500, "more than one statement takes");
    let (releases, sightings) = read(&wanted);
    assert!(releases.len() > 300);
    assert_eq!((releases, sightings), subset(&wanted));
}

/// Release points name each grouped post's release, its source's store id
/// and its time; source ids name every source written.
pub fn release_points_and_source_ids_agree(store: &mut dyn Store) {
    let batch = sample_batch();
    let (posts, ids) = grouped(store, &batch, &[1, 1, 2, 2]);
    let sources = store.source_ids().expect("source ids");
    let keys: HashSet<SourceKey> = sources.iter().map(|(_, k)| k.clone()).collect();
    assert_eq!(keys, batch.sources.iter().map(|s| s.key.clone()).collect::<HashSet<_>>());
    let id_of: HashMap<SourceKey, SourceId> = sources.into_iter().map(|(id, k)| (k, id)).collect();
    assert_eq!(id_of.values().collect::<HashSet<_>>().len(), 2, "distinct ids");
    let mut points = Vec::new();
    store
        .release_points(&mut |r, s, t| {
            points.push((r, s, t));
            Ok(())
        })
        .expect("points");
    points.sort();
    let mut expected: Vec<(ReleaseId, SourceId, i64)> = batch
        .posts
        .iter()
        .zip([1, 1, 2, 2])
        .map(|(p, n)| (ids[&n], id_of[&batch.sources[p.source].key], p.posted_at.unix_micros()))
        .collect();
    expected.sort();
    assert_eq!(points, expected);
    // Grouping reads the same source ids.
    for (g, p) in posts.iter().zip(&batch.posts) {
        assert_eq!(g.source_id, id_of[&batch.sources[p.source].key]);
    }
    // A post not yet grouped is no point.
    let run = run(store);
    let more =
        PostBatch { sources: vec![source("1000000001")], posts: vec![post(0, 9, vec![])], receipt: None };
    store.write_batch(run, &more).expect("write");
    let mut n = 0;
    store
        .release_points(&mut |_, _, _| {
            n += 1;
            Ok(())
        })
        .expect("points");
    assert_eq!(n, 4);
}

/// Posts of one release in one source in one second are one sighting
/// (named by its first post); the same second in another source is
/// another.
pub fn an_album_is_one_sighting(store: &mut dyn Store) {
    let at = |p: NewPost| NewPost { posted_at: UtcTime::from_unix_seconds(1_600_000_000), ..p };
    let batch = PostBatch {
        sources: vec![source("1"), source("2")],
        posts: vec![
            at(post(0, 11, vec![])),
            at(post(0, 12, vec![])),
            at(post(0, 13, vec![])),
            at(post(1, 5, vec![])),
        ],
        receipt: None,
    };
    let (_, ids) = grouped(store, &batch, &[1, 1, 1, 1]);
    let sightings = streamed(|visit| store.sightings(None, visit));
    let mut got: Vec<(ReleaseId, String, String, u64)> =
        sightings.iter().map(|s| (s.release_id, s.source.to_string(), s.post_id.clone(), s.posts)).collect();
    got.sort();
    assert_eq!(
        got,
        [
            (ids[&1], "telegram:1".to_owned(), "11".to_owned(), 3),
            (ids[&1], "telegram:2".to_owned(), "5".to_owned(), 1)
        ]
    );
    assert!(sightings.iter().all(|s| s.posted_at == UtcTime::from_unix_seconds(1_600_000_000)));
}

/// Two fresh stores have different identities, and a store's identity does
/// not change as it is written (that it survives reopening is each
/// backend's test: the suite cannot reopen a store).
pub fn stores_have_their_own_identity(a: &mut dyn Store, b: &mut dyn Store) {
    let id_a = a.identity().expect("identity");
    let id_b = b.identity().expect("identity");
    assert_ne!(id_a, id_b);
    assert_eq!(id_a.to_string().len(), 36, "{id_a}");
    a.create_bank("known").expect("create_bank");
    a.add_bank_entries("known", &[entry(SignalType::Md5, &"ab".repeat(16), None)]).expect("add entries");
    let r = run(a);
    a.write_batch(r, &sample_batch()).expect("write_batch");
    assert_eq!(a.identity().expect("identity"), id_a);
    assert_eq!(b.identity().expect("identity"), id_b);
}

/// A post id repeated within one run (in one batch or a later one) is
/// ignored whole: the first post keeps its text and its media, never the
/// second's. A later run sees the post as stored, not repeated.
pub fn a_repeated_post_in_one_run_is_ignored_whole(store: &mut dyn Store) {
    let run1 = run(store);
    let missing = MediaRef {
        kind: MediaKind::Image,
        path: "(File not included. Change data exporting settings to download.)".to_owned(),
        content: MediaContent::Missing("not included in the export".to_owned()),
    };
    let mut first = post(0, 7, vec![missing]);
    first.text = "the first message".to_owned();
    let mut second =
        post(0, 7, vec![present(media(5, MediaKind::Image)), present(media(6, MediaKind::Image))]);
    second.text = "the second message".to_owned();
    let batch =
        PostBatch { sources: vec![source("1")], posts: vec![first.clone(), second.clone()], receipt: None };
    let outcome = store.write_batch(run1, &batch).expect("write");
    assert_eq!((outcome.posts_added, outcome.posts_existing, outcome.repeated.clone()), (1, 0, vec![1]));
    assert_eq!(outcome.media_added, 0, "the second's media are not stored");
    // In a later batch of the same run too.
    let again = store
        .write_batch(
            run1,
            &PostBatch { sources: vec![source("1")], posts: vec![second.clone()], receipt: None },
        )
        .expect("write");
    assert_eq!((again.posts_existing, again.repeated), (0, vec![0]));
    let key = &batch.sources[0].key;
    let p = store.post(key, "7").expect("post").expect("stored");
    assert_eq!(p.text, "the first message");
    assert_eq!(p.media.len(), 1);
    assert_eq!(p.media[0].sha256, None);
    assert_eq!(store.stats().expect("stats").media, 0);
    assert_eq!(store.post_versions(key, "7").expect("versions"), Some(vec![]));
    // A later run: the post is stored, its first message read again.
    let run2 = run(store);
    let later = store
        .write_batch(run2, &PostBatch { sources: vec![source("1")], posts: vec![first], receipt: None })
        .expect("write");
    assert_eq!((later.posts_existing, later.repeated, later.posts_edited), (1, vec![], 0));
}

/// The repeats a batch would hold are known before it is written: the posts
/// this run already wrote, and those listed twice (the later ones); they
/// are what writing the batch then reports. Another run, another source or
/// another id is not a repeat.
pub fn repeats_are_known_before_they_are_written(store: &mut dyn Store) {
    let run1 = run(store);
    let (one, two) = (source("1"), source("2"));
    let first = PostBatch { sources: vec![one.clone()], posts: vec![post(0, 7, vec![])], receipt: None };
    store.write_batch(run1, &first).expect("write");
    let keys = [(&one.key, "7"), (&one.key, "8"), (&two.key, "7"), (&one.key, "8"), (&one.key, "7")];
    assert_eq!(store.repeats(run1, &keys).expect("repeats"), vec![0, 3, 4]);
    let batch = PostBatch {
        sources: vec![one.clone(), two.clone()],
        posts: vec![
            post(0, 7, vec![]),
            post(0, 8, vec![]),
            post(1, 7, vec![]),
            post(0, 8, vec![]),
            post(0, 7, vec![]),
        ],
        receipt: None,
    };
    assert_eq!(store.write_batch(run1, &batch).expect("write").repeated, vec![0, 3, 4]);
    let run2 = run(store);
    assert_eq!(store.repeats(run2, &keys[..3]).expect("repeats"), Vec::<usize>::new());
    assert_eq!(store.repeats(run2, &[]).expect("repeats"), Vec::<usize>::new());
}

/// A post met again in a later run with another, newer text takes it: the
/// earlier text is kept as a version, the text fingerprints replaced, and
/// the release holding the post dissolved so that grouping sees the change.
pub fn an_edit_replaces_the_text_and_keeps_a_version(store: &mut dyn Store) {
    let text_fp = |v: &str| NewFingerprint {
        signal_type: SignalType::Text,
        value: v.to_owned(),
        quality: None,
        variant: None,
    };
    let run1 = run(store);
    let mut original = post(0, 1, vec![]);
    original.text = "before the edit".to_owned();
    original.edited_at = None;
    original.fingerprints = vec![text_fp("old-signature")];
    let other = post(0, 2, vec![]);
    let batch = PostBatch { sources: vec![source("1")], posts: vec![original.clone(), other], receipt: None };
    store.write_batch(run1, &batch).expect("write");
    let posts = grouping_posts_of(store);
    let update = GroupingUpdate {
        assign: vec![(posts[0].id, ReleaseSlot::New(1)), (posts[1].id, ReleaseSlot::New(1))],
        text_linkable: vec![],
        merged: vec![],
        generation: store.releases_generation().expect("generation"),
    };
    store.apply_grouping(&update).expect("apply");
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 0);
    let generation = store.releases_generation().expect("generation");

    let run2 = run(store);
    let mut edited = original.clone();
    edited.text = "after the edit".to_owned();
    edited.edited_at = Some(UtcTime::from_unix_seconds(1_600_000_000));
    edited.fingerprints = vec![text_fp("new-signature")];
    let outcome = store
        .write_batch(
            run2,
            &PostBatch { sources: vec![source("1")], posts: vec![edited.clone()], receipt: None },
        )
        .expect("write");
    assert_eq!((outcome.posts_existing, outcome.posts_edited), (1, 1));
    let key = &batch.sources[0].key;
    let p = store.post(key, "1").expect("post").expect("stored");
    assert_eq!((p.text.as_str(), p.edited_at), ("after the edit", edited.edited_at));
    let versions = store.post_versions(key, "1").expect("versions").expect("post is stored");
    assert_eq!(versions.len(), 1);
    assert_eq!((versions[0].text.as_str(), versions[0].edited_at), ("before the edit", None));
    // Both posts of the release are grouped again; the new signature is read.
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 2);
    assert_ne!(store.releases_generation().expect("generation"), generation);
    let mut releases = 0;
    store
        .releases(None, &mut |_| {
            releases += 1;
            Ok(())
        })
        .expect("releases");
    assert_eq!(releases, 0, "the dissolved release is gone");
    let regrouped = grouping_posts_of(store);
    assert_eq!(regrouped[0].text_signature.as_deref(), Some("new-signature"));
    assert_eq!(regrouped[0].text.as_deref(), Some("after the edit"));
    assert_eq!(store.stats().expect("stats").fingerprints, 1);
    // Seen again unchanged: nothing more.
    let run3 = run(store);
    let same = store
        .write_batch(run3, &PostBatch { sources: vec![source("1")], posts: vec![edited], receipt: None })
        .expect("write");
    assert_eq!(same.posts_edited, 0);
    assert_eq!(store.post_versions(key, "1").expect("versions").map(|v| v.len()), Some(1));
    assert_eq!(store.post_versions(key, "404").expect("versions"), None);
}

/// An export older than the one stored brings an earlier text: it is kept
/// as a version (once), and the post keeps its newer text.
pub fn an_older_text_is_kept_as_a_version_only(store: &mut dyn Store) {
    let run1 = run(store);
    let mut newest = post(0, 4, vec![]);
    newest.text = "third text".to_owned();
    newest.edited_at = Some(UtcTime::from_unix_seconds(1_600_000_200));
    store
        .write_batch(run1, &PostBatch { sources: vec![source("1")], posts: vec![newest], receipt: None })
        .expect("write");
    let mut middle = post(0, 4, vec![]);
    middle.text = "second text".to_owned();
    middle.edited_at = Some(UtcTime::from_unix_seconds(1_600_000_100));
    let mut original = post(0, 4, vec![]);
    original.text = "first text".to_owned();
    original.edited_at = None;
    for p in [&middle, &original, &middle] {
        let r = run(store);
        let outcome = store
            .write_batch(r, &PostBatch { sources: vec![source("1")], posts: vec![p.clone()], receipt: None })
            .expect("write");
        assert_eq!(outcome.posts_edited, 0);
    }
    let key = source("1").key;
    assert_eq!(store.post(&key, "4").expect("post").expect("stored").text, "third text");
    let versions = store.post_versions(&key, "4").expect("versions").expect("stored");
    let texts: Vec<_> = versions.iter().map(|v| v.text.as_str()).collect();
    assert_eq!(texts, ["first text", "second text"], "oldest first, each once");
}

/// An older text kept only as a version brings no fingerprint to the post:
/// the post's text signature stays that of the text it shows.
pub fn an_older_texts_fingerprints_are_not_the_posts(store: &mut dyn Store) {
    let text_fp = |v: &str| NewFingerprint {
        signal_type: SignalType::Text,
        value: v.to_owned(),
        quality: None,
        variant: None,
    };
    let run1 = run(store);
    let mut newest = post(0, 4, vec![]);
    newest.text = "newer text".to_owned();
    newest.edited_at = Some(UtcTime::from_unix_seconds(1_600_000_200));
    newest.fingerprints = vec![text_fp("newer-signature")];
    store
        .write_batch(run1, &PostBatch { sources: vec![source("1")], posts: vec![newest], receipt: None })
        .expect("write");
    let mut older = post(0, 4, vec![]);
    older.text = "older text".to_owned();
    older.edited_at = None;
    older.fingerprints = vec![text_fp("older-signature")];
    let r = run(store);
    let outcome = store
        .write_batch(r, &PostBatch { sources: vec![source("1")], posts: vec![older], receipt: None })
        .expect("write");
    assert_eq!((outcome.posts_edited, outcome.fingerprints_added), (0, 0));
    let posts = grouping_posts_of(store);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].text_signature.as_deref(), Some("newer-signature"));
    assert_eq!(store.stats().expect("stats").fingerprints, 1, "one text signature, the newer text's");
}

/// A media item's fingerprints travel with its first reference in a batch;
/// when that reference is a repeated post (skipped whole), the item's next
/// reference stores them.
pub fn a_repeated_posts_media_fingerprints_go_to_the_next_reference(store: &mut dyn Store) {
    let run1 = run(store);
    let first = post(0, 7, vec![]);
    let repeated = post(0, 7, vec![present(media(9, MediaKind::Image))]);
    let mut bare = media(9, MediaKind::Image);
    bare.fingerprints.clear();
    let other = post(0, 8, vec![present(bare)]);
    let batch = PostBatch { sources: vec![source("1")], posts: vec![first, repeated, other], receipt: None };
    let outcome = store.write_batch(run1, &batch).expect("write");
    assert_eq!(outcome.repeated, vec![1]);
    assert_eq!((outcome.media_added, outcome.fingerprints_added), (1, 1), "{outcome:?}");
    let fingerprinted = store.fingerprinted_media(&[Sha256([9; 32])]).expect("fingerprinted");
    assert!(fingerprinted.contains(&Sha256([9; 32])));
}

fn pdq_hex(seed: u8) -> String {
    format!("{:064x}", u128::from(seed) * 0x0101_0101_0101_0101_0101_0101_0101_0101)
}

fn content(signals: Vec<(SignalType, String)>, note: Option<&str>) -> crate::NewContent {
    crate::NewContent { signals, note: note.map(str::to_owned), ..Default::default() }
}

/// Banks get HMA names (made unique) and keep their matching settings.
pub fn banks_get_hma_names_and_settings(store: &mut dyn Store) {
    let a = store.create_bank("demo-known").expect("create");
    assert_eq!(a.settings.hma_name, "DEMO_KNOWN");
    assert_eq!(a.settings.enabled_ratio, 1.0);
    assert_eq!(a.settings.pdq_threshold, None);
    // A second name made into the same HMA name gets a suffix.
    let b = store.create_bank("demo known").expect("create");
    assert_eq!(b.settings.hma_name, "DEMO_KNOWN_2");
    let c = store.create_bank("OWN_NAME").expect("create");
    assert_eq!(c.settings.hma_name, "OWN_NAME");

    let update = crate::BankUpdate {
        rename: Some("RENAMED".into()),
        enabled_ratio: Some(0.25),
        pdq_threshold: Some(Some(12)),
    };
    let c = store.update_bank("OWN_NAME", &update).expect("update");
    assert_eq!((c.name.as_str(), c.settings.hma_name.as_str()), ("RENAMED", "RENAMED"));
    assert_eq!((c.settings.enabled_ratio, c.settings.pdq_threshold), (0.25, Some(12)));
    // A bank whose own name differs keeps it when its HMA name changes.
    let a = store
        .update_bank("DEMO_KNOWN", &crate::BankUpdate { rename: Some("KNOWN".into()), ..Default::default() })
        .expect("rename");
    assert_eq!((a.name.as_str(), a.settings.hma_name.as_str()), ("demo-known", "KNOWN"));
    let listed = store.banks().expect("banks");
    let renamed = listed.iter().find(|b| b.name == "RENAMED").expect("listed");
    assert_eq!(renamed.settings.pdq_threshold, Some(12));
    let clear = crate::BankUpdate { pdq_threshold: Some(None), ..Default::default() };
    assert_eq!(store.update_bank("RENAMED", &clear).expect("clear").settings.pdq_threshold, None);

    let taken = crate::BankUpdate { rename: Some("KNOWN".into()), ..Default::default() };
    assert!(matches!(store.update_bank("RENAMED", &taken), Err(StoreError::Conflict(_))));
    assert!(matches!(store.update_bank("NOPE", &crate::BankUpdate::default()), Err(StoreError::NotFound(_))));
    // The settings without the counts are the list's, in its order.
    let listed: Vec<_> =
        store.banks().expect("banks").into_iter().map(|b| (b.id, b.name, b.settings)).collect();
    assert_eq!(listed.len(), 3);
    assert_eq!(store.bank_settings().expect("settings"), listed);
}

/// A content item holds several signals under its first entry's id.
pub fn content_items_hold_several_signals(store: &mut dyn Store) {
    store.create_bank("HMA_BANK").expect("create");
    let md5 = "0123456789abcdef0123456789abcdef".to_owned();
    let item = crate::NewContent {
        signals: vec![(SignalType::Pdq, pdq_hex(1)), (SignalType::Md5, md5.clone())],
        note: Some("a note".into()),
        metadata: Some(r#"{"content_id":"x-1"}"#.into()),
        original_media_uri: None,
        labels: [("outlet".to_owned(), "Office".to_owned())].into(),
    };
    let id = store.add_bank_content("HMA_BANK", &item).expect("add");
    // The same signals again are a new item, as in HMA.
    let again = store
        .add_bank_content("HMA_BANK", &content(vec![(SignalType::Pdq, pdq_hex(1))], None))
        .expect("again");
    assert_ne!(id, again);
    // An entry added on its own is an item of one signal, with its id.
    store.add_bank_entries("HMA_BANK", &[entry(SignalType::Pdq, &pdq_hex(2), None)]).expect("entry");
    let mut own = None;
    store
        .bank_entries(&EntryFilter::default(), &mut |e| {
            if e.value == pdq_hex(2) {
                own = Some(e.id);
            }
            Ok(())
        })
        .expect("entries");
    let own = own.expect("own entry").0;

    let got = store.bank_contents(&[id, own, again, 999_999]).expect("contents");
    assert_eq!(got.iter().map(|c| c.id).collect::<Vec<_>>(), vec![id, again, own]);
    let first = &got[0];
    assert_eq!(first.bank, "HMA_BANK");
    assert_eq!(first.bank_settings.hma_name, "HMA_BANK");
    let signals: Vec<(SignalType, &str)> = first.signals.iter().map(|(_, t, v)| (*t, v.as_str())).collect();
    assert_eq!(signals, vec![(SignalType::Pdq, pdq_hex(1).as_str()), (SignalType::Md5, md5.as_str())]);
    assert_eq!(first.signals[0].0.0, id, "the item's id is its first entry's");
    assert_eq!(first.note.as_deref(), Some("a note"));
    assert_eq!(first.metadata.as_deref(), Some(r#"{"content_id":"x-1"}"#));
    assert_eq!(first.labels.get("outlet").map(String::as_str), Some("Office"));
    assert_eq!(first.disable_until_ts, crate::CONTENT_ENABLED);
    assert_eq!(got[2].signals.len(), 1);
    assert_eq!(got[2].note, None);
    // Bank counts see every entry.
    let bank = store.banks().expect("banks").into_iter().find(|b| b.name == "HMA_BANK").expect("bank");
    assert_eq!(bank.entries.get(&SignalType::Pdq), Some(&3));

    let two = content(vec![(SignalType::Pdq, pdq_hex(3)), (SignalType::Pdq, pdq_hex(4))], None);
    assert!(store.add_bank_content("HMA_BANK", &two).is_err(), "two signals of one type");
    assert_eq!(store.bank_contents(&[again + 1_000]).expect("none").len(), 0);
    assert!(matches!(
        store.add_bank_content("NO_BANK", &content(vec![(SignalType::Pdq, pdq_hex(5))], None)),
        Err(StoreError::NotFound(_))
    ));
}

/// Content items are disabled, re-noted and removed by id.
pub fn content_is_updated_and_removed(store: &mut dyn Store) {
    store.create_bank("B").expect("create");
    store.create_bank("OTHER").expect("create");
    let id =
        store.add_bank_content("B", &content(vec![(SignalType::Pdq, pdq_hex(7))], Some("n"))).expect("add");
    let upd = crate::ContentUpdate { disable_until_ts: Some(0), note: Some(None) };
    let c = store.update_bank_content(id, &upd).expect("update").expect("exists");
    assert_eq!((c.disable_until_ts, c.note.as_deref()), (0, None));
    assert!(!c.enabled_at(0));
    assert!(store.update_bank_content(id + 100, &upd).expect("update").is_none());
    // An entry added on its own can be disabled too.
    store
        .add_bank_entries("B", &[entry(SignalType::Md5, "00000000000000000000000000000001", None)])
        .expect("add");
    let own = store.bank_state().expect("state").max_entry_id.expect("id").0;
    let c = store
        .update_bank_content(own, &crate::ContentUpdate { disable_until_ts: Some(2_000_000_000), note: None })
        .expect("update")
        .expect("exists");
    assert_eq!(c.disable_until_ts, 2_000_000_000);
    assert_eq!(store.bank_contents(&[own]).expect("read")[0].disable_until_ts, 2_000_000_000);

    // Removal looks the item up by id alone, as HMA does.
    assert_eq!(store.remove_bank_content("OTHER", id).expect("remove"), 1);
    assert_eq!(store.remove_bank_content("B", id).expect("again"), 0);
    assert!(store.bank_contents(&[id]).expect("read").is_empty());
    assert!(matches!(store.remove_bank_content("NONE", own), Err(StoreError::NotFound(_))));
    assert_eq!(store.bank_state().expect("state").entries, 1);
}

/// A follower sees new entries by id and every other change in the log.
pub fn a_follower_sees_every_bank_change(store: &mut dyn Store) {
    let start = store.bank_cursor().expect("cursor");
    let bank = store.create_bank("F").expect("create");
    let id = store.add_bank_content("F", &content(vec![(SignalType::Pdq, pdq_hex(9))], None)).expect("add");
    store.add_bank_entries("F", &[entry(SignalType::Pdq, &pdq_hex(10), None)]).expect("add");
    let mut served = Vec::new();
    store
        .served_entries(start.max_entry_id, &mut |e| {
            served.push(e);
            Ok(())
        })
        .expect("served");
    assert_eq!(served.len(), 2);
    assert_eq!((served[0].content_id, served[0].bank_id), (id, bank.id));
    assert_eq!(served[1].content_id, served[1].entry.id.0);
    assert_eq!(served[1].disable_until_ts, crate::CONTENT_ENABLED);
    let after_adds = store.bank_cursor().expect("cursor");
    assert_eq!(after_adds.max_entry_id, served[1].entry.id.0);

    store
        .update_bank_content(id, &crate::ContentUpdate { disable_until_ts: Some(0), note: None })
        .expect("upd");
    store
        .update_bank("F", &crate::BankUpdate { enabled_ratio: Some(0.5), ..Default::default() })
        .expect("upd");
    store.set_signal_type_ratio("pdq", 0.5).expect("ratio");
    store.remove_bank_content("F", id).expect("remove");
    store.delete_bank("F").expect("delete");
    let log: Vec<crate::BankChange> =
        store.bank_log(after_adds.log_seq).expect("log").into_iter().map(|r| r.change).collect();
    assert_eq!(
        log,
        vec![
            crate::BankChange::Content(id),
            crate::BankChange::Bank(bank.id),
            crate::BankChange::SignalTypes,
            crate::BankChange::ContentDeleted(id),
            crate::BankChange::BankDeleted(bank.id),
        ]
    );
    let all = store.bank_log(start.log_seq).expect("log");
    assert_eq!(all.first().map(|r| r.change), Some(crate::BankChange::Bank(bank.id)), "creation is logged");
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(store.bank_cursor().expect("cursor").log_seq, all.last().expect("last").seq);
}

/// Signal type ratios are kept, the last one set.
pub fn signal_type_ratios_are_kept(store: &mut dyn Store) {
    assert!(store.signal_type_ratios().expect("ratios").is_empty());
    store.set_signal_type_ratio("pdq", 0.5).expect("set");
    store.set_signal_type_ratio("pdq", 0.75).expect("set");
    store.set_signal_type_ratio("video_md5", 0.0).expect("set");
    let r = store.signal_type_ratios().expect("ratios");
    assert_eq!(r.get("pdq"), Some(&0.75));
    assert_eq!(r.get("video_md5"), Some(&0.0));
    assert_eq!(r.len(), 2);
}

/// Tokens are found by their hash until revoked.
pub fn tokens_are_found_by_hash_until_revoked(store: &mut dyn Store) {
    let token = |name: &str, seed: u8, role| crate::NewToken {
        name: name.into(),
        role,
        hash: [seed; 32],
        prefix: format!("m_{seed}"),
    };
    let a = store.add_token(&token("ci", 1, crate::Role::Viewer)).expect("add");
    assert_eq!((a.name.as_str(), a.role, a.revoked_at), ("ci", crate::Role::Viewer, None));
    assert!(matches!(store.add_token(&token("ci", 2, crate::Role::Admin)), Err(StoreError::Conflict(_))));
    store.add_token(&token("ops", 3, crate::Role::Admin)).expect("add");
    assert_eq!(store.token_by_hash(&[1; 32]).expect("find").map(|t| t.name), Some("ci".to_owned()));
    assert_eq!(store.token_by_hash(&[3; 32]).expect("find").map(|t| t.role), Some(crate::Role::Admin));
    assert_eq!(store.token_by_hash(&[9; 32]).expect("find"), None);
    assert!(store.revoke_token("ci").expect("revoke"));
    assert!(!store.revoke_token("ci").expect("revoke twice"));
    assert_eq!(store.token_by_hash(&[1; 32]).expect("find"), None);
    // A revoked token's name may be given again.
    store.add_token(&token("ci", 4, crate::Role::Analyst)).expect("again");
    let all = store.tokens().expect("tokens");
    assert_eq!(
        all.iter().map(|t| (t.name.as_str(), t.revoked_at.is_some())).collect::<Vec<_>>(),
        vec![("ci", true), ("ops", false), ("ci", false)]
    );
}

/// Users are unique by name, listed by name, keep their record when
/// disabled, and their password hash changes only by `set_password`.
pub fn users_are_kept_by_name_and_disabled_not_deleted(store: &mut dyn Store) {
    let user = |name: &str, role| crate::NewUser {
        name: name.into(),
        role,
        password_hash: format!("$argon2id$v=19${name}"),
    };
    let zed = store.add_user(&user("zed", crate::Role::Moderator)).expect("add");
    assert_eq!((zed.name.as_str(), zed.role, zed.disabled_at), ("zed", crate::Role::Moderator, None));
    assert_eq!(zed.created_at, zed.password_changed_at);
    store.add_user(&user("amal", crate::Role::Viewer)).expect("add");
    assert!(matches!(store.add_user(&user("zed", crate::Role::Admin)), Err(StoreError::Conflict(_))));
    let names = |s: &dyn Store| s.users().expect("users").into_iter().map(|u| u.name).collect::<Vec<_>>();
    assert_eq!(names(store), vec!["amal", "zed"]);
    assert_eq!(store.user("zed").expect("user"), Some(zed.clone()));
    assert_eq!(store.user("Zed").expect("user"), None, "names are case-sensitive");

    assert!(store.set_password("zed", "$argon2id$v=19$new").expect("set"));
    assert!(!store.set_password("nobody", "$argon2id$v=19$new").expect("set"));
    let changed = store.user("zed").expect("user").expect("zed");
    assert_eq!(changed.password_hash, "$argon2id$v=19$new");
    assert!(changed.password_changed_at >= zed.password_changed_at);
    assert_eq!(changed.created_at, zed.created_at);

    assert!(store.disable_user("zed").expect("disable"));
    assert!(!store.disable_user("zed").expect("disable twice"));
    assert!(!store.disable_user("nobody").expect("disable"));
    let disabled = store.user("zed").expect("user").expect("kept");
    assert!(disabled.disabled_at.is_some());
    assert_eq!(names(store), vec!["amal", "zed"], "a disabled user is kept");
    assert!(
        matches!(store.add_user(&user("zed", crate::Role::Viewer)), Err(StoreError::Conflict(_))),
        "a disabled user's name is not given again"
    );
}

/// A session is found by its cookie's hash until it expires, is ended, or
/// its user's password changes or the user is disabled.
pub fn sessions_last_until_expiry_sign_out_or_a_change_of_their_user(store: &mut dyn Store) {
    let at = |s: i64| UtcTime::from_unix_micros(1_800_000_000_000_000 + s * 1_000_000).expect("time");
    let user = |name: &str| crate::NewUser {
        name: name.into(),
        role: crate::Role::Analyst,
        password_hash: "$argon2id$x".into(),
    };
    let amal = store.add_user(&user("amal")).expect("add");
    let badr = store.add_user(&user("badr")).expect("add");
    let session = |seed: u8, user_id: i64, start: i64, hours: i64| crate::NewSession {
        hash: [seed; 32],
        user_id,
        csrf: format!("csrf-{seed}"),
        created_at: at(start),
        expires_at: at(start + hours * 3600),
    };
    store.add_session(&session(1, amal.id, 0, 12)).expect("add");
    store.add_session(&session(2, amal.id, 0, 12)).expect("add");
    store.add_session(&session(3, badr.id, 0, 1)).expect("add");
    let found = store.session(&[1; 32], at(60)).expect("session").expect("live");
    assert_eq!((found.user.name.as_str(), found.csrf.as_str()), ("amal", "csrf-1"));
    assert_eq!((found.created_at, found.expires_at), (at(0), at(12 * 3600)));
    assert_eq!(store.session(&[9; 32], at(60)).expect("session"), None);
    // expiry
    assert!(store.session(&[3; 32], at(3599)).expect("session").is_some());
    assert_eq!(store.session(&[3; 32], at(3600)).expect("session"), None, "expired at its end");
    // sign-out ends one session only
    assert!(store.end_session(&[1; 32]).expect("end"));
    assert!(!store.end_session(&[1; 32]).expect("end twice"));
    assert_eq!(store.session(&[1; 32], at(60)).expect("session"), None);
    assert!(store.session(&[2; 32], at(60)).expect("session").is_some());
    // a new password ends the user's sessions, not others'
    store.add_session(&session(4, badr.id, 10, 12)).expect("add");
    assert!(store.set_password("amal", "$argon2id$y").expect("set"));
    assert_eq!(store.session(&[2; 32], at(60)).expect("session"), None);
    assert!(store.session(&[4; 32], at(60)).expect("session").is_some());
    // disabling ends them too, and a session added for a disabled user is
    // not found
    assert!(store.disable_user("badr").expect("disable"));
    assert_eq!(store.session(&[4; 32], at(60)).expect("session"), None);
    store.add_session(&session(5, badr.id, 20, 12)).expect("add");
    assert_eq!(store.session(&[5; 32], at(60)).expect("session"), None);
    // a session's start removes the sessions expired by then
    store.add_session(&session(6, amal.id, 100 * 3600, 12)).expect("add");
    assert!(!store.end_session(&[5; 32]).expect("expired and removed"));
}

/// The audit log is read back in order, by time and limit.
pub fn the_audit_log_is_read_back_in_order(store: &mut dyn Store) {
    let at = |s: i64| UtcTime::from_unix_micros(s * 1_000_000).expect("time");
    let event = |s: i64, action: &str| crate::NewAuditEvent {
        at: at(s),
        actor: "ci".into(),
        action: action.into(),
        target: Some("/m/raw_lookup".into()),
        status: Some(200),
        detail: None,
    };
    store.append_audit(&[event(10, "lookup"), event(20, "bank.create")]).expect("append");
    store.append_audit(&[event(30, "auth.refused")]).expect("append");
    let read = |store: &dyn Store, since: Option<i64>, limit: Option<u64>| {
        streamed(|v| store.audit(since.map(at), limit, v))
            .into_iter()
            .map(|r| r.event.action)
            .collect::<Vec<_>>()
    };
    assert_eq!(read(store, None, None), vec!["lookup", "bank.create", "auth.refused"]);
    assert_eq!(read(store, Some(20), None), vec!["bank.create", "auth.refused"]);
    assert_eq!(read(store, None, Some(2)), vec!["bank.create", "auth.refused"]);
    let all = streamed(|v| store.audit(None, None, v));
    assert_eq!(all[0].event, event(10, "lookup"));
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
}

/// A variant fingerprint (python-threatexchange's PDQ of a palette or CMYK
/// image) is stored beside the item's own one, read back marked, streamed
/// for matching, and stored once; a variant equal to the own value is not
/// stored at all; grouping reads the own PDQ only.
pub fn variant_fingerprints_round_trip(store: &mut dyn Store) {
    let pytx = |value: String, quality| NewFingerprint {
        signal_type: SignalType::Pdq,
        value,
        quality: Some(quality),
        variant: Some(SignalVariant::Pytx),
    };
    let mut palette = media(1, MediaKind::Image);
    let own = palette.fingerprints[0].clone();
    let variant = pytx("f0".repeat(32), 70);
    palette.fingerprints.push(variant.clone());
    // A variant that equals the own value, listed first: left out all the same.
    let mut same = media(3, MediaKind::Image);
    let same_own = same.fingerprints[0].clone();
    same.fingerprints.insert(0, pytx(same_own.value.clone(), 90));
    let batch = PostBatch {
        sources: vec![source("1000000001")],
        posts: vec![post(0, 1, vec![present(palette.clone())]), post(0, 2, vec![present(same.clone())])],
        receipt: None,
    };
    let first = run(store);
    assert_eq!(store.write_batch(first, &batch).expect("write").fingerprints_added, 3);
    assert_eq!(store.stats().expect("stats").fingerprints, 3);
    let stored = store.media(&palette.sha256).expect("media").expect("stored");
    assert_eq!(stored.fingerprints, [own.clone(), variant.clone()], "own first, then the variant");
    let stored = store.media(&same.sha256).expect("media").expect("stored");
    assert_eq!(stored.fingerprints, [same_own], "a variant equal to the own value is not stored");
    let second = run(store);
    assert_eq!(store.write_batch(second, &batch).expect("again").fingerprints_added, 0);

    let items = streamed(|visit| store.matchable_items(visit));
    let item = items.iter().find(|i| i.item == ItemRef::Media(palette.sha256)).expect("the palette image");
    let pdq: Vec<&NewFingerprint> =
        item.fingerprints.iter().filter(|f| f.signal_type == SignalType::Pdq).collect();
    assert_eq!(pdq, [&own, &variant], "{item:?}");

    let posts = grouping_posts_of(store);
    assert_eq!(posts[0].media[0].pdq, Some((own.value.clone(), 90)), "grouping reads the own PDQ");
    assert_eq!(posts[0].media[0].sha256, Some(palette.sha256));
}

/// A match found through a variant fingerprint is stored and listed with
/// its variant, at ingest and later (a rescan); matches of the own
/// fingerprints have none; an item matches an entry once, the first match
/// stored kept.
pub fn variant_matches_round_trip(store: &mut dyn Store) {
    store.create_bank("hma").expect("create");
    store
        .add_bank_entries(
            "hma",
            &[
                entry(SignalType::Pdq, &"0f".repeat(32), Some("Outlet")),
                entry(SignalType::Pdq, &"f0".repeat(32), None),
            ],
        )
        .expect("add");
    let ids: Vec<EntryId> = all_entries(store, &EntryFilter::default()).iter().map(|e| e.id).collect();
    let by_variant = |entry_id: EntryId| NewMatch {
        entry_id,
        signal_type: SignalType::Pdq,
        distance: 1.0,
        detail: None,
        variant: Some(SignalVariant::Pytx),
    };
    let run = run(store);
    let mut batch = sample_batch();
    if let MediaContent::Present(media) = &mut batch.posts[0].media[0].content {
        media.matches.push(by_variant(ids[0]));
    }
    batch.posts[1].matches.push(NewMatch {
        entry_id: ids[1],
        signal_type: SignalType::Text,
        distance: 0.1,
        detail: None,
        variant: None,
    });
    assert_eq!(store.write_batch(run, &batch).expect("write").matches_added, 2);
    // Later, as a rescan stores them.
    let video = ItemRef::Media(Sha256([2; 32]));
    assert_eq!(store.add_matches(&[(video, by_variant(ids[1]))]).expect("add"), 1);
    let own = NewMatch { variant: None, distance: 0.0, ..by_variant(ids[1]) };
    assert_eq!(store.add_matches(&[(video, own)]).expect("again"), 0, "one match per item and entry");

    let listed = store.matches().expect("matches");
    let variants: Vec<Option<SignalVariant>> = listed.iter().map(|m| m.variant).collect();
    assert_eq!(variants, [Some(SignalVariant::Pytx), None, Some(SignalVariant::Pytx)]);
    assert!(matches!(&listed[0].item, MatchedItem::Media { sha256, .. } if *sha256 == Sha256([1; 32])));
    assert_eq!((listed[0].entry.id, listed[0].distance), (ids[0], 1.0));
    assert!(matches!(&listed[2].item, MatchedItem::Media { sha256, .. } if *sha256 == Sha256([2; 32])));
    assert_eq!((listed[2].entry.id, listed[2].distance), (ids[1], 1.0), "the first match stored is kept");
}

/// A job is queued, started once and ended once, in that order; jobs are
/// listed newest first; a server starting fails the unfinished ones and
/// leaves the ended ones as they are.
pub fn jobs_run_once_and_end_once(store: &mut dyn Store) {
    use crate::{JobEnd, JobKind, JobStatus, NewJob};
    let new = |name: &str, kind| NewJob {
        created_by: "analyst".into(),
        file_name: name.into(),
        bytes: 1234,
        kind,
        retain_media: true,
        no_fingerprints: false,
        export_timezone: Some("Asia/Baghdad".into()),
    };
    let a = store.add_job(&new("a.zip", JobKind::Telegram)).expect("add");
    assert_eq!((a.status, a.started_at, a.finished_at), (JobStatus::Queued, None, None));
    assert_eq!(a.job, new("a.zip", JobKind::Telegram));
    let b = store.add_job(&new("b.jsonl", JobKind::Jsonl)).expect("add");
    assert!(b.id > a.id);
    assert_eq!(store.job(a.id).expect("job"), Some(a.clone()));
    assert_eq!(store.job(b.id + 100).expect("job"), None);
    let done =
        JobEnd { error: None, summary: Some(r#"{"posts_added":3}"#.into()), progress: Some("{}".into()) };
    assert!(!store.finish_job(a.id, &done).expect("finish"), "a queued job is not ended");
    assert!(store.start_job(a.id).expect("start"));
    assert!(!store.start_job(a.id).expect("start twice"));
    let running = store.job(a.id).expect("job").expect("stored");
    assert_eq!(running.status, JobStatus::Running);
    assert!(running.started_at.is_some_and(|t| t >= a.created_at));
    assert!(store.finish_job(a.id, &done).expect("finish"));
    let failed = JobEnd { error: Some("late".into()), summary: None, progress: None };
    assert!(!store.finish_job(a.id, &failed).expect("finish twice"));
    let ended = store.job(a.id).expect("job").expect("stored");
    assert_eq!(ended.status, JobStatus::Done);
    assert_eq!((ended.summary.as_deref(), ended.progress.as_deref()), (done.summary.as_deref(), Some("{}")));
    assert!(ended.finished_at >= ended.started_at);
    let c = store.add_job(&new("c.tar", JobKind::Telegram)).expect("add");
    assert!(store.start_job(b.id).expect("start"));
    // Jobs whose server said it was alive since are left alone.
    let before = UtcTime::from_unix_micros(UtcTime::now().unix_micros() - 60_000_000).expect("time");
    assert_eq!(store.fail_unfinished_jobs("stopped", before).expect("fail"), 0);
    std::thread::sleep(std::time::Duration::from_millis(5));
    store.heartbeat_jobs(&[c.id]).expect("heartbeat");
    let between = UtcTime::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    store.heartbeat_jobs(&[c.id]).expect("heartbeat");
    assert_eq!(store.fail_unfinished_jobs("stopped", between).expect("fail"), 1, "b's server is silent");
    assert_eq!(store.job(c.id).expect("job").expect("stored").status, JobStatus::Queued);
    let after = UtcTime::from_unix_micros(UtcTime::now().unix_micros() + 1).expect("time");
    assert_eq!(store.fail_unfinished_jobs("stopped", after).expect("fail"), 1);
    for id in [b.id, c.id] {
        let j = store.job(id).expect("job").expect("stored");
        assert_eq!((j.status, j.error.as_deref()), (JobStatus::Failed, Some("stopped")));
        assert!(j.finished_at.is_some());
    }
    assert_eq!(store.job(a.id).expect("job").expect("stored"), ended);
    assert_eq!(store.fail_unfinished_jobs("again", after).expect("fail"), 0);
    let ids = |limit| store.jobs(limit).expect("jobs").into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(10), vec![c.id, b.id, a.id]);
    assert_eq!(ids(2), vec![c.id, b.id]);
}

/// Sources are counted with their posts, and posts are searched by their
/// normalized words, narrowed by source and time and read page by page; an
/// edit is found by its new text only.
pub fn posts_are_searched_and_paged(store: &mut dyn Store) {
    let run1 = run(store);
    let mut batch = sample_batch();
    // Diacritics, tatweel and hamza forms: normalized away in the index.
    batch.posts[0].text = "الـسَّلامُ عليكم في المدينة".to_owned();
    batch.posts[1].text = "نشرة الأخبار".to_owned();
    store.write_batch(run1, &batch).expect("write");
    let counts: Vec<(String, u64)> = store
        .source_counts()
        .expect("counts")
        .into_iter()
        .map(|c| (c.source.key.to_string(), c.posts))
        .collect();
    assert_eq!(counts, [("telegram:1000000001".to_owned(), 2), ("telegram:1000000002".to_owned(), 2)]);
    fn ids(store: &dyn Store, q: &PostQuery) -> Vec<(String, String)> {
        store
            .search_posts(q)
            .expect("search")
            .into_iter()
            .map(|f| (f.post.source.platform_id, f.post.platform_post_id))
            .collect()
    }
    let words = |w: &[&str]| PostQuery {
        words: w.iter().map(|s| (*s).to_owned()).collect(),
        limit: 10,
        ..PostQuery::default()
    };
    let one = |s: &str, p: &str| (s.to_owned(), p.to_owned());
    assert_eq!(ids(store, &words(&["السلام"])), [one("1000000001", "1")]);
    assert_eq!(ids(store, &words(&["السلام", "المدينه"])), [one("1000000001", "1")]);
    assert_eq!(ids(store, &words(&["اخبار"])), Vec::<(String, String)>::new(), "a word, not a part of one");
    assert_eq!(ids(store, &words(&["الاخبار"])), [one("1000000001", "2")]);
    assert_eq!(ids(store, &words(&["السلام", "الاخبار"])), Vec::<(String, String)>::new());
    assert_eq!(ids(store, &words(&["a\"b"])), Vec::<(String, String)>::new(), "quotes are only text");
    // Filters: source and period.
    let all = ids(store, &words(&[]));
    assert_eq!(all.len(), 4);
    let of_second = PostQuery { source: Some(batch.sources[1].key.clone()), ..words(&[]) };
    assert_eq!(ids(store, &of_second), [one("1000000002", "1"), one("1000000002", "3")]);
    let t = |id: i64| UtcTime::from_unix_seconds(1_510_142_400 + id * 60);
    let period = PostQuery { from: Some(t(2)), to: Some(t(3)), ..words(&[]) };
    assert_eq!(ids(store, &period), [one("1000000001", "2")]);
    // Pages: each post once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.search_posts(&PostQuery { after, limit: 3, ..words(&[]) }).expect("page");
        let Some(last) = page.last() else { break };
        after = Some(PostCursor { posted_at: last.post.posted_at, id: last.id });
        seen.extend(page.into_iter().map(|f| (f.post.source.platform_id, f.post.platform_post_id)));
    }
    assert_eq!(seen, all);
    let times: Vec<UtcTime> =
        store.search_posts(&words(&[])).expect("all").into_iter().map(|f| f.post.posted_at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "by time");
    // An edit: the new text is found, the old one no longer.
    let run2 = run(store);
    let mut edited = batch.posts[1].clone();
    edited.text = "خبر عاجل".to_owned();
    edited.edited_at = Some(UtcTime::from_unix_seconds(1_600_000_000));
    store
        .write_batch(
            run2,
            &PostBatch { sources: vec![batch.sources[0].clone()], posts: vec![edited], receipt: None },
        )
        .expect("edit");
    assert_eq!(ids(store, &words(&["الاخبار"])), Vec::<(String, String)>::new());
    assert_eq!(ids(store, &words(&["عاجل"])), [one("1000000001", "2")]);
}

/// The review queue: stored matches wait for a decision; decisions are all
/// or none, undoable latest first; a rejected match's pair is never stored
/// again, even after its bank is emptied and filled again, until the
/// rejection is undone.
pub fn review_decisions_undo_and_the_ignore_list(store: &mut dyn Store) {
    let add = |store: &mut dyn Store| {
        store.create_bank("known").expect("create");
        store
            .add_bank_entries(
                "known",
                &[
                    entry(SignalType::Pdq, &"01".repeat(32), Some("Outlet")),
                    entry(SignalType::Md5, &"0f".repeat(16), None),
                ],
            )
            .expect("add");
        let ids: Vec<EntryId> = all_entries(store, &EntryFilter::default()).iter().map(|e| e.id).collect();
        let mut batch = sample_batch();
        let m = NewMatch {
            entry_id: ids[0],
            signal_type: SignalType::Pdq,
            distance: 3.0,
            detail: None,
            variant: None,
        };
        if let MediaContent::Present(media) = &mut batch.posts[0].media[0].content {
            media.matches.push(m.clone());
        }
        batch.posts[1].matches.push(NewMatch {
            entry_id: ids[1],
            signal_type: SignalType::Md5,
            distance: 0.0,
            ..m
        });
        batch
    };
    let write_anew = |store: &mut dyn Store, batch: &PostBatch| {
        let r = run(store);
        store.write_batch(r, batch)
    };
    let batch = add(store);
    let first = run(store);
    assert_eq!(store.write_batch(first, &batch).expect("write").matches_added, 2);
    let stored = store.matches().expect("matches");
    let (media, post) = (ReviewTarget::Match(stored[0].id), ReviewTarget::Match(stored[1].id));
    assert!(matches!(stored[0].item, MatchedItem::Media { .. }));
    assert_eq!(store.matches_by_id(&[stored[1].id, 999_999]).expect("by id"), vec![stored[1].clone()]);
    let open = store.review_queue(QueueState::Open, None, 10).expect("queue");
    assert_eq!(open.iter().map(|i| i.target).collect::<Vec<_>>(), [media, post], "{open:?}");
    assert_eq!(store.review_counts().expect("counts"), (2, 0));
    // A page of one, then the next.
    let first = store.review_queue(QueueState::Open, None, 1).expect("page");
    let next =
        store.review_queue(QueueState::Open, Some((first[0].since, first[0].target)), 10).expect("next");
    assert_eq!((first.len(), next.len(), next[0].target), (1, 1, open[1].target));

    let at = UtcTime::from_unix_micros(1_700_000_000_000_000).expect("time");
    let decision = |target, verdict| NewDecision {
        target,
        verdict,
        note: Some("looked at it".to_owned()),
        actor: "mod".to_owned(),
        at,
        bank: None,
    };
    // All or none: a missing target refuses the whole batch.
    let err = store
        .decide(&[decision(media, Verdict::Reject), decision(ReviewTarget::Match(999_999), Verdict::Confirm)])
        .expect_err("a missing target");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(store.review_counts().expect("counts"), (2, 0), "nothing was decided");
    let ids =
        store.decide(&[decision(media, Verdict::Reject), decision(post, Verdict::Escalate)]).expect("decide");
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    assert!(store.review_queue(QueueState::Open, None, 10).expect("queue").is_empty());
    let escalated = store.review_queue(QueueState::Escalated, None, 10).expect("escalated");
    assert_eq!((escalated.len(), escalated[0].target, escalated[0].decision), (1, post, Some(ids[1])));
    assert_eq!(store.review_counts().expect("counts"), (0, 1));
    // An escalated item may be decided; a decided one may not, until undone.
    let confirmed = store.decide(&[decision(post, Verdict::Confirm)]).expect("confirm the escalated");
    let err = store.decide(&[decision(media, Verdict::Confirm)]).expect_err("decided already");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let standing = store.standing_decisions(&[media, post, ReviewTarget::Match(999_999)]).expect("standing");
    assert_eq!(
        standing.iter().map(|d| (d.id, d.decision.verdict)).collect::<Vec<_>>(),
        [(ids[0], Verdict::Reject), (confirmed[0], Verdict::Confirm)]
    );

    // The rejected pair is ignored: emptied and filled again, the bank's
    // entry does not match that media item again (the post's match does).
    let sha = Sha256([1; 32]);
    let ignored = store.ignored_entries().expect("ignored");
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0].0, ItemRef::Media(sha));
    assert!(store.delete_bank("known").expect("delete"));
    assert!(store.ignored_entries().expect("ignored").is_empty(), "no such entry now");
    let batch = add(store);
    assert_eq!(write_anew(store, &batch).expect("write again").matches_added, 1);
    assert_eq!(store.ignored_entries().expect("ignored").len(), 1, "the same pair, a new entry id");
    assert!(store.matches().expect("matches").iter().all(|m| !matches!(m.item, MatchedItem::Media { .. })));

    // Undo: the latest first; twice refused; a missing one is None.
    let err = store.undo_decision(ids[1], "mod", at).expect_err("not the latest of its item");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let undone = store.undo_decision(ids[0], "lead", at).expect("undo").expect("found");
    assert_eq!((undone.decision.target, undone.undone.as_ref().map(|u| u.1.as_str())), (media, Some("lead")));
    assert!(matches!(store.undo_decision(ids[0], "lead", at), Err(StoreError::Conflict(_))));
    assert_eq!(store.undo_decision(999_999, "lead", at).expect("missing"), None);
    assert!(store.ignored_entries().expect("ignored").is_empty(), "the pair is no longer ignored");
    assert_eq!(write_anew(store, &batch).expect("write again").matches_added, 1, "the media matches again");
    // The log keeps every decision, the undone one marked.
    let log = store.decisions(0, 100).expect("log");
    assert_eq!(log.len(), 3);
    assert!(log[0].undone.is_some() && log[1].undone.is_none());
    assert_eq!(log[0].decision.note.as_deref(), Some("looked at it"));
    assert_eq!(store.decisions(log[1].id, 100).expect("after").len(), 1);
    let latest = store.latest_decisions(2).expect("latest");
    assert_eq!(latest.iter().map(|d| d.id).collect::<Vec<_>>(), [log[2].id, log[1].id]);
}

/// Reviewer protection: settings by key, a user's blur level, and items
/// revealed counted per user and day.
pub fn reviewer_protection_is_kept_per_user_and_day(store: &mut dyn Store) {
    assert!(store.ui_settings().expect("settings").is_empty());
    store.set_ui_setting("blur_floor", 3).expect("set");
    store.set_ui_setting("exposure_limit", 40).expect("set");
    store.set_ui_setting("blur_floor", 5).expect("set again");
    assert_eq!(
        store.ui_settings().expect("settings"),
        [("blur_floor".to_owned(), 5), ("exposure_limit".to_owned(), 40)]
    );
    let user = crate::NewUser {
        name: "rana".to_owned(),
        role: crate::Role::Moderator,
        password_hash: "$argon2id$x".to_owned(),
    };
    store.add_user(&user).expect("user");
    assert_eq!(store.user_blur("rana").expect("blur"), None);
    assert!(store.set_user_blur("rana", Some(7)).expect("set"));
    assert!(store.set_user_blur("rana", Some(8)).expect("set again"));
    assert_eq!(store.user_blur("rana").expect("blur"), Some(8));
    assert!(store.set_user_blur("rana", None).expect("clear"));
    assert_eq!(store.user_blur("rana").expect("blur"), None);
    assert!(!store.set_user_blur("nobody", Some(3)).expect("no such user"));
    assert_eq!(store.exposure("rana", 20_000).expect("none yet"), 0);
    assert_eq!(store.add_exposure("rana", 20_000, 1).expect("add"), 1);
    assert_eq!(store.add_exposure("rana", 20_000, 4).expect("add"), 5);
    assert_eq!(store.add_exposure("rana", 20_001, 1).expect("next day"), 1);
    assert_eq!(store.add_exposure("omar", 20_000, 2).expect("another user"), 2);
    assert_eq!(store.exposure("rana", 20_000).expect("count"), 5);
}

/// Theme codes: one per taxonomy, release and coder (a later one replaces
/// it), listed by release then coder; a missing release is refused; the
/// taxonomy's text is kept as given.
pub fn theme_codes_are_one_per_coder_and_release(store: &mut dyn Store) {
    assert_eq!(store.taxonomy().expect("taxonomy"), None);
    store.set_taxonomy("name = \"a\"").expect("set");
    store.set_taxonomy("name = \"b\"").expect("set again");
    assert_eq!(store.taxonomy().expect("taxonomy").as_deref(), Some("name = \"b\""));
    let run = run(store);
    store.write_batch(run, &sample_batch()).expect("write");
    let mut posts = Vec::new();
    let grouping = store
        .grouping_posts(&mut |p| {
            posts.push(p.id);
            Ok(())
        })
        .expect("posts");
    let update = GroupingUpdate {
        assign: posts.iter().enumerate().map(|(i, p)| (*p, ReleaseSlot::New(i as u32))).collect(),
        text_linkable: Vec::new(),
        merged: Vec::new(),
        generation: grouping,
    };
    let ids = store.apply_grouping(&update).expect("releases");
    let (r1, r2) = (ids[&0], ids[&1]);
    let at = UtcTime::from_unix_micros(1_700_000_000_000_000).expect("time");
    let code = |release, coder: &str, primary: &str, secondary: &[&str]| crate::CodeRecord {
        taxonomy: "winter-2015".to_owned(),
        release,
        coder: coder.to_owned(),
        primary: primary.to_owned(),
        secondary: secondary.iter().map(|s| (*s).to_owned()).collect(),
        at,
    };
    store.set_code(&code(r2, "b", "war", &[])).expect("code");
    store.set_code(&code(r1, "b", "utopia", &["belonging", "mercy"])).expect("code");
    store.set_code(&code(r1, "a", "war", &[])).expect("code");
    store.set_code(&code(r1, "a", "mercy", &["war"])).expect("a new code replaces the coder's");
    let all = store.codes("winter-2015", None).expect("codes");
    let brief: Vec<(ReleaseId, &str, &str)> =
        all.iter().map(|c| (c.release, c.coder.as_str(), c.primary.as_str())).collect();
    assert_eq!(brief, [(r1, "a", "mercy"), (r1, "b", "utopia"), (r2, "b", "war")]);
    assert_eq!(all[1].secondary, ["belonging", "mercy"]);
    assert_eq!(all[0].at, at);
    assert_eq!(store.codes("winter-2015", Some(r2)).expect("one release").len(), 1);
    assert!(store.codes("other", None).expect("another taxonomy").is_empty());
    let err = store.set_code(&code(ReleaseId(999_999), "a", "war", &[])).expect_err("no such release");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}
