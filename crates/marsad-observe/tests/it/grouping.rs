//! Grouping is a function of the posts alone: the same posts give the same
//! releases whatever their order and however they are split into batches
//! (each batch grouped against the releases of the ones before).

use std::collections::{BTreeSet, HashMap};

use marsad_core::{PostId, ReleaseId, Sha256, SourceId};
use marsad_hash::pdq::PdqHash;
use marsad_hash::text::{MinHasher, normalize, shingles};
use marsad_observe::group::{GroupConfig, Grouper, MediaFeature, PostFeatures, Shingles, TextFeature};
use marsad_store::ReleaseSlot;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Post {
    id: i64,
    source: i64,
    second: i64,
    sha: Option<u8>,
    pdq: Option<(u8, Vec<usize>, u8)>,
    text: Option<(u8, Vec<usize>)>,
}

const WORDS: [&str; 24] = [
    "نشرة",
    "المدينة",
    "السوق",
    "الطقس",
    "اليوم",
    "جديد",
    "مكتبة",
    "حديقة",
    "market",
    "weather",
    "bulletin",
    "city",
    "report",
    "photos",
    "العامة",
    "الشمال",
    "الجنوب",
    "موسم",
    "الحصاد",
    "الزيتون",
    "قطار",
    "جسر",
    "ملعب",
    "معرض",
];

/// Base texts, each ten words; variants change a few words.
fn text_of(base: u8, changes: &[usize]) -> String {
    let mut w: Vec<String> =
        (0..10).map(|i| WORDS[(base as usize * 7 + i * 5) % WORDS.len()].to_owned()).collect();
    w.push(format!("{base}"));
    for &c in changes {
        let i = c % w.len();
        w[i] = format!("{}x", w[i]);
    }
    w.join(" ")
}

fn base_hash(b: u8) -> PdqHash {
    let mut bytes = [0u8; 32];
    let mut x = u64::from(b).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    for byte in &mut bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = x as u8;
    }
    PdqHash::from_bytes(bytes)
}

/// A generated post: source, second, shared media byte, PDQ (family,
/// flipped bits, quality), text (family, altered words).
type GenPost = (i64, i64, Option<u8>, Option<(u8, Vec<usize>, u8)>, Option<(u8, Vec<usize>)>);

fn post() -> impl Strategy<Value = GenPost> {
    (
        0i64..3,
        0i64..6,
        prop::option::weighted(0.3, 0u8..6),
        prop::option::weighted(0.5, (0u8..5, prop::collection::vec(0usize..256, 0..40), 30u8..=100)),
        prop::option::weighted(0.6, (0u8..5, prop::collection::vec(0usize..20, 0..4))),
    )
}

struct Texts(HashMap<i64, String>);

impl Shingles for Texts {
    fn shingles(&self, posts: &[PostId]) -> marsad_store::Result<Vec<Option<Vec<u64>>>> {
        Ok(posts.iter().map(|p| self.0.get(&p.0).map(|t| shingles(&normalize(t)))).collect())
    }
}

fn features(p: &Post, release: Option<i64>, hasher: &MinHasher) -> PostFeatures {
    let mut media = Vec::new();
    if let Some(s) = p.sha {
        media.push(MediaFeature { sha256: Some(Sha256([s; 32])), ..MediaFeature::default() });
    }
    if let Some((b, flips, q)) = &p.pdq {
        let mut h = base_hash(*b);
        let mut bits: Vec<usize> = flips.clone();
        bits.sort_unstable();
        bits.dedup();
        for k in bits {
            h.flip_bit(k);
        }
        media.push(MediaFeature { pdq: Some((h, *q)), ..MediaFeature::default() });
    }
    let text = p.text.as_ref().map(|(b, c)| {
        let n = normalize(&text_of(*b, c));
        TextFeature { signature: hasher.sign(&n), words: n.split(' ').count() }
    });
    PostFeatures {
        post: PostId(p.id),
        source: SourceId(p.source),
        second: p.second,
        release: release.map(ReleaseId),
        text,
        media,
    }
}

/// Groups `order` in batches of `batch` posts, each batch against the
/// releases found so far; returns the partition of post ids.
fn group(posts: &[Post], order: &[usize], batch: usize) -> BTreeSet<BTreeSet<i64>> {
    let hasher = MinHasher::default();
    let texts =
        Texts(posts.iter().filter_map(|p| p.text.as_ref().map(|(b, c)| (p.id, text_of(*b, c)))).collect());
    let mut release: HashMap<i64, i64> = HashMap::new();
    let mut next_id = 1i64;
    let mut seen: Vec<usize> = Vec::new();
    for chunk in order.chunks(batch.max(1)) {
        let mut g = Grouper::new(GroupConfig::default());
        for &i in &seen {
            g.add(features(&posts[i], release.get(&posts[i].id).copied(), &hasher));
        }
        for &i in chunk {
            g.add(features(&posts[i], None, &hasher));
        }
        let out = g.finish(&texts).unwrap();
        let mut fresh: HashMap<u32, i64> = HashMap::new();
        for (post, r) in out.assign {
            let r = match r {
                ReleaseSlot::New(n) => *fresh.entry(n).or_insert_with(|| {
                    next_id += 1;
                    next_id
                }),
                ReleaseSlot::Existing(r) => r.0,
            };
            release.insert(post.0, r);
        }
        seen.extend_from_slice(chunk);
    }
    let mut groups: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    for p in posts {
        groups.entry(release[&p.id]).or_default().insert(p.id);
    }
    groups.into_values().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn grouping_ignores_order_and_batching(
        raw in prop::collection::vec(post(), 1..40),
        seed in any::<u64>(),
        batch in 1usize..12,
    ) {
        let posts: Vec<Post> = raw
            .into_iter()
            .enumerate()
            .map(|(i, (source, second, sha, pdq, text))| Post { id: i as i64 + 1, source, second, sha, pdq, text })
            .collect();
        let natural: Vec<usize> = (0..posts.len()).collect();
        let reference = group(&posts, &natural, posts.len());
        // A shuffled order (deterministic from the seed).
        let mut order = natural.clone();
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(&group(&posts, &order, posts.len()), &reference);
        prop_assert_eq!(&group(&posts, &order, batch), &reference);
        prop_assert_eq!(&group(&posts, &natural, 1), &reference);
    }
}

#[test]
fn each_rule_links_and_short_texts_do_not() {
    let mk = |id, source, second, sha: Option<u8>, text: Option<(u8, Vec<usize>)>| Post {
        id,
        source,
        second,
        sha,
        pdq: None,
        text,
    };
    // Posts 1 and 2 share a file; 3 is an album neighbour of 2 (same source
    // and second, both with media); 4 a near-duplicate text of 3's base with
    // two words changed; 5 unrelated.
    let posts = vec![
        mk(1, 0, 10, Some(1), None),
        mk(2, 1, 20, Some(1), None),
        Post { id: 3, source: 1, second: 20, sha: Some(2), pdq: None, text: Some((0, vec![])) },
        mk(4, 2, 30, None, Some((0, vec![3]))),
        mk(5, 2, 40, None, Some((3, vec![]))),
    ];
    let order: Vec<usize> = (0..posts.len()).collect();
    let groups = group(&posts, &order, 5);
    assert!(groups.contains(&BTreeSet::from([1, 2, 3, 4])), "{groups:?}");
    assert!(groups.contains(&BTreeSet::from([5])));
    // A one-word text never links on text.
    let hasher = MinHasher::default();
    let mut g = Grouper::new(GroupConfig::default());
    let short = |id| {
        let n = normalize("عاجل");
        PostFeatures {
            post: PostId(id),
            source: SourceId(id),
            second: id,
            release: None,
            text: Some(TextFeature { signature: hasher.sign(&n), words: 1 }),
            media: vec![],
        }
    };
    g.add(short(1));
    g.add(short(2));
    let out = g.finish(&Texts(HashMap::from([(1, "عاجل".to_owned()), (2, "عاجل".to_owned())]))).unwrap();
    let r: BTreeSet<ReleaseSlot> = out.assign.iter().map(|(_, r)| *r).collect();
    assert_eq!(r.len(), 2, "one-word captions stay apart");
}

/// Texts that cannot be read: the store failed.
struct Unreadable;

impl Shingles for Unreadable {
    fn shingles(&self, _posts: &[PostId]) -> marsad_store::Result<Vec<Option<Vec<u64>>>> {
        Err(marsad_store::StoreError::Backend("disk I/O error".into()))
    }
}

#[test]
fn texts_that_cannot_be_read_end_the_grouping_instead_of_losing_links() {
    let hasher = MinHasher::default();
    let caption = "a long enough caption of placeholder words for the test";
    let post = |id, release: Option<i64>| {
        let n = normalize(caption);
        PostFeatures {
            post: PostId(id),
            source: SourceId(id),
            second: id,
            release: release.map(ReleaseId),
            text: Some(TextFeature { signature: hasher.sign(&n), words: 10 }),
            media: vec![],
        }
    };
    let mut g = Grouper::new(GroupConfig::default());
    g.add(post(1, Some(7)));
    g.add(post(2, None));
    let err = g.finish(&Unreadable).expect_err("a failed read is an error");
    assert!(err.to_string().contains("disk I/O error"), "{err}");
}
