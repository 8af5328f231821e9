//! Behaviour every [`Store`] backend must show. Each backend's tests call
//! [`run_all`] with a function that makes a fresh, empty store, so SQLite and
//! PostgreSQL are held to the same contract.

use marsad_core::{Md5, MediaKind, Platform, Sha256, SignalType, SourceKey, UtcTime};

use crate::{
    BatchOutcome, EntryFilter, GroupPost, GroupingUpdate, ItemRef, MatchedItem, MediaContent, MediaRef,
    NewBankEntry, NewFingerprint, NewMatch, NewMedia, NewPost, NewRun, NewSource, OutletRecord, PostBatch,
    ReleaseRecord, RunSummary, Stats, Store, StoreError,
};

/// A named test case.
type Case = (&'static str, fn(&mut dyn Store));

/// Runs every test of the suite, each on a fresh store from `make`.
/// Panics (it is a test) with the name of the failing case.
pub fn run_all<S: Store>(mut make: impl FnMut() -> S) {
    let cases: [Case; 16] = [
        ("empty_store_counts_nothing", empty_store_counts_nothing),
        ("batch_round_trips", batch_round_trips),
        ("writing_twice_adds_nothing", writing_twice_adds_nothing),
        ("media_is_content_addressed", media_is_content_addressed),
        ("missing_media_is_completed_later", missing_media_is_completed_later),
        ("sources_are_renamed", sources_are_renamed),
        ("runs_are_recorded", runs_are_recorded),
        ("fingerprinted_media_is_known", fingerprinted_media_is_known),
        ("banks_hold_entries_once", banks_hold_entries_once),
        ("matches_are_stored_and_listed", matches_are_stored_and_listed),
        ("stored_items_are_matched_again", stored_items_are_matched_again),
        ("deleting_a_bank_removes_its_entries_and_matches", deleting_a_bank_removes_its_entries_and_matches),
        ("the_registry_is_replaced_whole", the_registry_is_replaced_whole),
        ("grouping_round_trips", grouping_round_trips),
        ("merges_move_posts_and_drop_releases", merges_move_posts_and_drop_releases),
        ("stale_grouping_is_refused", stale_grouping_is_refused),
    ];
    for (name, case) in cases {
        eprintln!("store testsuite: {name}");
        let mut store = make();
        case(&mut store);
    }
    eprintln!("store testsuite: stores_have_their_own_identity");
    stores_have_their_own_identity(&mut make(), &mut make());
}

/// Two fresh stores have different identities, and a store's identity does
/// not change as it is written (that it survives reopening is each
/// backend's test: the suite cannot reopen a store).
fn stores_have_their_own_identity(a: &mut dyn Store, b: &mut dyn Store) {
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

fn empty_store_counts_nothing(store: &mut dyn Store) {
    assert_eq!(store.stats().expect("stats"), Stats::default());
    assert!(store.sources().expect("sources").is_empty());
    assert!(store.runs().expect("runs").is_empty());
}

fn batch_round_trips(store: &mut dyn Store) {
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
            matches_added: 0
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

fn writing_twice_adds_nothing(store: &mut dyn Store) {
    let run = run(store);
    let batch = sample_batch();
    store.write_batch(run, &batch).expect("write");
    let before = store.stats().expect("stats");
    let again = store.write_batch(run, &batch).expect("write again");
    assert_eq!(
        again,
        BatchOutcome {
            posts_added: 0,
            posts_existing: 4,
            media_added: 0,
            fingerprints_added: 0,
            matches_added: 0
        }
    );
    assert_eq!(store.stats().expect("stats"), before);
}

fn media_is_content_addressed(store: &mut dyn Store) {
    let run = run(store);
    let m = media(7, MediaKind::Image);
    let mut copy = m.clone();
    copy.original_path = "photos/elsewhere.jpg".to_owned();
    let batch = PostBatch {
        sources: vec![source("1"), source("2")],
        posts: vec![post(0, 1, vec![present(m.clone())]), post(1, 5, vec![present(copy)])],
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

fn missing_media_is_completed_later(store: &mut dyn Store) {
    let run = run(store);
    let missing = MediaRef {
        kind: MediaKind::Image,
        path: "photos/3.jpg".to_owned(),
        content: MediaContent::Missing("file not found".to_owned()),
    };
    let first = PostBatch { sources: vec![source("1")], posts: vec![post(0, 3, vec![missing])] };
    store.write_batch(run, &first).expect("write");
    let m = media(3, MediaKind::Image);
    let second = PostBatch { sources: vec![source("1")], posts: vec![post(0, 3, vec![present(m.clone())])] };
    let outcome = store.write_batch(run, &second).expect("write");
    assert_eq!(outcome.posts_existing, 1);
    assert_eq!(outcome.media_added, 1);
    let p = store.post(&first.sources[0].key, "3").expect("post").expect("stored");
    assert_eq!(p.media[0].sha256, Some(m.sha256));
    assert_eq!(p.media[0].missing, None);
    // And a later ingest without the file does not erase it again.
    store.write_batch(run, &first).expect("write");
    let p = store.post(&first.sources[0].key, "3").expect("post").expect("stored");
    assert_eq!(p.media[0].sha256, Some(m.sha256));
}

fn sources_are_renamed(store: &mut dyn Store) {
    let run = run(store);
    let mut batch = PostBatch { sources: vec![source("42")], posts: vec![post(0, 1, vec![])] };
    store.write_batch(run, &batch).expect("write");
    batch.sources[0].name = "New Name".to_owned();
    store.write_batch(run, &batch).expect("write");
    let sources = store.sources().expect("sources");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].name, "New Name");
}

fn runs_are_recorded(store: &mut dyn Store) {
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

fn fingerprinted_media_is_known(store: &mut dyn Store) {
    let run = run(store);
    let mut bare = media(7, MediaKind::Image);
    bare.fingerprints.clear();
    let batch = PostBatch {
        sources: vec![source("1")],
        posts: vec![post(0, 1, vec![present(media(5, MediaKind::Image)), present(bare)])],
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
    let mut out = Vec::new();
    store
        .bank_entries(filter, &mut |e| {
            out.push(e);
            Ok(())
        })
        .expect("bank_entries");
    out
}

fn banks_hold_entries_once(store: &mut dyn Store) {
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
    assert!(state.max_entry_id >= 3, "{state:?}");
    let banks = store.banks().expect("banks");
    assert_eq!(banks.len(), 1);
    assert_eq!(banks[0].entries.get(&SignalType::Pdq), Some(&2));
    let pdq =
        all_entries(store, &EntryFilter { signal_type: Some(SignalType::Pdq), ..EntryFilter::default() });
    assert_eq!(pdq.len(), 2);
    assert_eq!(pdq[0].labels.get("label").map(String::as_str), Some("Example Media"));
    assert!(pdq[0].id < pdq[1].id);
    let later = all_entries(store, &EntryFilter { after_id: pdq[0].id, ..EntryFilter::default() });
    assert_eq!(later.len(), 2);
    let by_id = all_entries(store, &EntryFilter { ids: vec![pdq[1].id], ..EntryFilter::default() });
    assert_eq!(by_id, vec![pdq[1].clone()]);
    store.create_bank("other").expect("create other");
    store.add_bank_entries("other", &entries[..1]).expect("same value in another bank");
    let only_other =
        all_entries(store, &EntryFilter { banks: vec!["other".to_owned()], ..EntryFilter::default() });
    assert_eq!(only_other.len(), 1);
    assert_eq!(only_other[0].bank, "other");
}

fn matches_are_stored_and_listed(store: &mut dyn Store) {
    store.create_bank("known").expect("create");
    store
        .add_bank_entries("known", &[entry(SignalType::Pdq, &"01".repeat(32), Some("Outlet"))])
        .expect("add");
    let id = all_entries(store, &EntryFilter::default())[0].id;
    let run = run(store);
    let mut batch = sample_batch();
    let m = NewMatch { entry_id: id, signal_type: SignalType::Pdq, distance: 3.0, detail: None };
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

fn stored_items_are_matched_again(store: &mut dyn Store) {
    let run = run(store);
    let mut batch = sample_batch();
    let text = NewFingerprint { signal_type: SignalType::Text, value: "0000000a".repeat(4), quality: None };
    batch.posts[1].fingerprints.push(text.clone());
    store.write_batch(run, &batch).expect("write");
    let mut items = Vec::new();
    store
        .matchable_items(&mut |it| {
            items.push(it);
            Ok(())
        })
        .expect("items");
    // The two media items (the missing document is none), then the post
    // with a text fingerprint; posts without fingerprints are not items.
    assert_eq!(items.len(), 3, "{items:?}");
    let digest = |t: SignalType, value: String| NewFingerprint { signal_type: t, value, quality: None };
    assert_eq!(items[0].item, ItemRef::Media(Sha256([1; 32])));
    assert_eq!(
        items[0].fingerprints,
        [
            digest(SignalType::Md5, "01".repeat(16)),
            digest(SignalType::Sha256, "01".repeat(32)),
            NewFingerprint { signal_type: SignalType::Pdq, value: format!("{:064x}", 1), quality: Some(90) },
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
    let m = NewMatch { entry_id: id, signal_type: SignalType::Pdq, distance: 2.0, detail: None };
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

fn deleting_a_bank_removes_its_entries_and_matches(store: &mut dyn Store) {
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

fn the_registry_is_replaced_whole(store: &mut dyn Store) {
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

fn grouping_posts_of(store: &dyn Store) -> Vec<GroupPost> {
    let mut out = Vec::new();
    store
        .grouping_posts(&mut |p| {
            out.push(p);
            Ok(())
        })
        .expect("grouping_posts");
    out
}

fn all_releases(store: &dyn Store) -> Vec<ReleaseRecord> {
    let mut out = Vec::new();
    store
        .releases(&mut |r| {
            out.push(r);
            Ok(())
        })
        .expect("releases");
    out
}

fn grouping_round_trips(store: &mut dyn Store) {
    let run = run(store);
    store.write_batch(run, &sample_batch()).expect("write");
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 4);
    let posts = grouping_posts_of(store);
    assert_eq!(posts.len(), 4);
    assert!(posts.windows(2).all(|w| w[0].id < w[1].id), "by id");
    assert!(posts.iter().all(|p| p.release_id.is_none() && !p.text.is_empty()));
    // The image's PDQ fingerprint comes with its media reference.
    let with_image =
        posts.iter().find(|p| p.media.first().is_some_and(|m| m.pdq.is_some())).expect("image post");
    assert_eq!(with_image.media[0].pdq, Some((format!("{:064x}", 1), 90)));

    // Two releases: the first two posts, and the other two.
    let generation = store.releases_generation().expect("generation");
    let update = GroupingUpdate {
        assign: vec![(posts[0].id, -1), (posts[1].id, -1), (posts[2].id, -2), (posts[3].id, -2)],
        text_linkable: vec![posts[0].id],
        merged: vec![],
        ungrouped_seen: 4,
    };
    let ids = store.apply_grouping(&update).expect("apply");
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[&-1], ids[&-2]);
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 0);
    assert_ne!(store.releases_generation().expect("generation"), generation);
    let regrouped = grouping_posts_of(store);
    assert_eq!(regrouped[0].release_id, Some(ids[&-1]));
    assert_eq!(regrouped[3].release_id, Some(ids[&-2]));
    assert!(regrouped.iter().all(|p| p.text.is_empty()), "grouped posts' texts are not read again");

    let mut members = Vec::new();
    store
        .release_members(Some(&[ids[&-2]]), &mut |m| {
            members.push(m);
            Ok(())
        })
        .expect("members");
    assert_eq!(members.len(), 2);
    assert!(members.iter().all(|m| m.release_id == ids[&-2]));
    assert!(members[0].posted_at <= members[1].posted_at, "by time");

    let t = |s| UtcTime::from_unix_seconds(s);
    let record = |id: i64, first: i64| ReleaseRecord {
        id,
        first_seen: t(first),
        last_seen: t(first + 60),
        sightings: 2,
        channels: 1,
        format: "photo".to_owned(),
        language: Some("ar".to_owned()),
        outlet: Some("Zeta Office".to_owned()),
        evidence: r#"{"rule":"channel"}"#.to_owned(),
        first_source: Some(SourceKey {
            platform: Platform::telegram(),
            platform_id: "1000000001".to_owned(),
        }),
    };
    let described = vec![record(ids[&-2], 1_510_142_400), record(ids[&-1], 1_510_142_460)];
    store.update_releases(&described).expect("update_releases");
    let stored = all_releases(store);
    assert_eq!(stored, vec![described[0].clone(), described[1].clone()], "by first seen");

    let mut sightings = Vec::new();
    store
        .sightings(&mut |s| {
            sightings.push(s);
            Ok(())
        })
        .expect("sightings");
    assert_eq!(sightings.len(), 4, "four posts in four distinct (source, second)s");
    assert_eq!(sightings.iter().map(|s| s.posts).sum::<u64>(), 4);
}

fn merges_move_posts_and_drop_releases(store: &mut dyn Store) {
    let run = run(store);
    store.write_batch(run, &sample_batch()).expect("write");
    let posts = grouping_posts_of(store);
    let ids = store
        .apply_grouping(&GroupingUpdate {
            assign: posts.iter().enumerate().map(|(i, p)| (p.id, -(i as i64) - 1)).collect(),
            text_linkable: vec![],
            merged: vec![],
            ungrouped_seen: 4,
        })
        .expect("apply");
    assert_eq!(ids.len(), 4);
    assert_eq!(all_releases(store).len(), 4);
    // A new post links releases 1 and 2: everything moves to release 1.
    let mut batch = sample_batch();
    batch.posts = vec![post(0, 9, vec![])];
    store.write_batch(run, &batch).expect("write");
    let new_post = grouping_posts_of(store).into_iter().find(|p| p.release_id.is_none()).expect("new post");
    let (keep, gone) = (ids[&-1], ids[&-2]);
    store
        .apply_grouping(&GroupingUpdate {
            assign: vec![(new_post.id, keep), (posts[1].id, keep)],
            text_linkable: vec![new_post.id],
            merged: vec![gone],
            ungrouped_seen: 1,
        })
        .expect("apply");
    let releases: Vec<i64> = all_releases(store).iter().map(|r| r.id).collect();
    assert_eq!(releases.len(), 3);
    assert!(!releases.contains(&gone));
    let regrouped = grouping_posts_of(store);
    assert_eq!(regrouped.iter().filter(|p| p.release_id == Some(keep)).count(), 3);
}

fn stale_grouping_is_refused(store: &mut dyn Store) {
    let run = run(store);
    store.write_batch(run, &sample_batch()).expect("write");
    let posts = grouping_posts_of(store);
    let generation = store.releases_generation().expect("generation");
    // Read when there were 3 ungrouped posts: another ingest added one since.
    let err = store
        .apply_grouping(&GroupingUpdate {
            assign: posts.iter().map(|p| (p.id, -1)).collect(),
            text_linkable: vec![],
            merged: vec![],
            ungrouped_seen: 3,
        })
        .expect_err("a stale update is refused");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.ungrouped_posts().expect("ungrouped"), 4, "nothing written");
    assert!(all_releases(store).is_empty());
    assert_eq!(store.releases_generation().expect("generation"), generation);
}
