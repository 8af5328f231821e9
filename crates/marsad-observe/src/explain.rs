//! Why the posts of one release are one release: the links, by the
//! grouping's own rules ([`crate::group`]), that join them.
//!
//! Grouping keeps only the outcome (each post's release), so the links are
//! found again when someone asks: every pair of the release's posts is
//! tested against the rules with the same thresholds, and the links kept
//! are a spanning forest taken in time order — each post joined through
//! the earliest post it links to, with the first rule that links them. Enough to show a
//! reader the chain that joined every sighting, without every pair.
//!
//! A release of more than [`MAX_EXPLAINED`] posts is explained over its
//! first [`MAX_EXPLAINED`] posts by time (the pairs are quadratic).

use marsad_core::Sha256;
use marsad_hash::text::{jaccard, normalize, shingles};
use marsad_index::audio::AudioIndex;
use marsad_index::vpdq::{VpdqConfig, compare};

use crate::group::{GroupConfig, MediaFeature};

/// The most posts of one release whose links are found.
pub const MAX_EXPLAINED: usize = 400;

/// A post of the release, as the rules see it.
#[derive(Clone, Debug, Default)]
pub struct LinkPost {
    /// Its source (`platform:id`).
    pub source: String,
    /// When it was posted, in whole seconds (UTC).
    pub second: i64,
    /// Its text.
    pub text: String,
    /// Its media.
    pub media: Vec<MediaFeature>,
}

/// What links two posts.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkRule {
    /// One album: the same source in the same second, both with media.
    Album,
    /// A media item with the same SHA-256.
    SameMedia(Sha256),
    /// Images within the PDQ threshold.
    Pdq {
        /// Their distance in bits.
        distance: u32,
    },
    /// Videos matching by vPDQ.
    Vpdq {
        /// The larger of the two videos' shares of matching frames.
        percent: f64,
    },
    /// Audio matching by Chromaprint.
    Audio {
        /// The bit error rate at the best offset.
        bit_error_rate: f64,
    },
    /// Texts that are near-duplicates.
    Text {
        /// Jaccard similarity of their 4-gram sets.
        jaccard: f64,
    },
}

impl LinkRule {
    /// The rule's name: `album`, `same_media`, `pdq`, `vpdq`, `audio`, `text`.
    pub fn name(&self) -> &'static str {
        match self {
            LinkRule::Album => "album",
            LinkRule::SameMedia(_) => "same_media",
            LinkRule::Pdq { .. } => "pdq",
            LinkRule::Vpdq { .. } => "vpdq",
            LinkRule::Audio { .. } => "audio",
            LinkRule::Text { .. } => "text",
        }
    }

    /// What it saw, in words.
    pub fn detail(&self) -> String {
        match self {
            LinkRule::Album => "one album: same channel, same second".to_owned(),
            LinkRule::SameMedia(sha) => format!("same media item (SHA-256 {})", sha.to_hex()),
            LinkRule::Pdq { distance } => format!("images {distance} bits apart (PDQ)"),
            LinkRule::Vpdq { percent } => format!("videos: {percent:.0} % of frames match (vPDQ)"),
            LinkRule::Audio { bit_error_rate } => {
                format!("audio: bit error rate {bit_error_rate:.3} (Chromaprint)")
            }
            LinkRule::Text { jaccard } => format!("texts {:.0} % alike (Jaccard)", jaccard * 100.0),
        }
    }
}

/// A link of the spanning forest: post `to` joined the release through
/// post `from` (indexes into the posts given, `from` < `to`).
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// The earlier post.
    pub from: usize,
    /// The later post.
    pub to: usize,
    /// The rule that links them.
    pub rule: LinkRule,
}

/// The links that join `posts` (in time order), by the rules of `cfg`: a
/// spanning forest, pairs taken in order (each later post against each
/// earlier one), a pair kept when its posts were not yet joined through
/// others. At most the first [`MAX_EXPLAINED`] posts are considered.
pub fn links(cfg: &GroupConfig, posts: &[LinkPost]) -> Vec<Link> {
    let posts = &posts[..posts.len().min(MAX_EXPLAINED)];
    let texts: Vec<Option<Vec<u64>>> = posts
        .iter()
        .map(|p| {
            let n = normalize(&p.text);
            let words = n.split(' ').filter(|w| !w.is_empty()).count();
            (words >= cfg.text_min_words).then(|| shingles(&n))
        })
        .collect();
    // Audio pairs, found through an index of the release's audio.
    let mut audio = AudioIndex::new();
    let mut audio_owner = Vec::new();
    for (i, p) in posts.iter().enumerate() {
        for m in &p.media {
            if let Some(items) = &m.audio {
                audio.insert(audio_owner.len() as u32, items);
                audio_owner.push(i);
            }
        }
    }
    let mut audio_pairs: Vec<(usize, usize, f64)> = Vec::new();
    for (i, p) in posts.iter().enumerate() {
        for m in &p.media {
            if let Some(items) = &m.audio {
                for hit in audio.query(items, &cfg.audio) {
                    let j = audio_owner[hit.id as usize];
                    if j != i {
                        audio_pairs.push((i.min(j), i.max(j), hit.bit_error_rate));
                    }
                }
            }
        }
    }
    let mut joined: Vec<usize> = (0..posts.len()).collect();
    fn root(joined: &mut [usize], mut x: usize) -> usize {
        while joined[x] != x {
            joined[x] = joined[joined[x]];
            x = joined[x];
        }
        x
    }
    let mut out = Vec::new();
    for to in 1..posts.len() {
        for from in 0..to {
            let (a, b) = (root(&mut joined, from), root(&mut joined, to));
            if a == b {
                continue;
            }
            if let Some(rule) = rule(cfg, &posts[from], &posts[to], (&texts[from], &texts[to]), || {
                audio_pairs
                    .iter()
                    .filter(|&&(x, y, _)| (x, y) == (from, to))
                    .map(|&(_, _, r)| r)
                    .reduce(f64::min)
            }) {
                joined[b] = a;
                out.push(Link { from, to, rule });
            }
        }
    }
    out
}

/// The first rule that links `a` and `b`, if any.
fn rule(
    cfg: &GroupConfig,
    a: &LinkPost,
    b: &LinkPost,
    (ta, tb): (&Option<Vec<u64>>, &Option<Vec<u64>>),
    audio: impl Fn() -> Option<f64>,
) -> Option<LinkRule> {
    if a.source == b.source && a.second == b.second && !a.media.is_empty() && !b.media.is_empty() {
        return Some(LinkRule::Album);
    }
    for ma in &a.media {
        for mb in &b.media {
            if let (Some(x), Some(y)) = (ma.sha256, mb.sha256)
                && x == y
            {
                return Some(LinkRule::SameMedia(x));
            }
        }
    }
    let mut best_pdq: Option<u32> = None;
    for ma in &a.media {
        for mb in &b.media {
            if let (Some((x, qx)), Some((y, qy))) = (ma.pdq, mb.pdq)
                && qx >= cfg.pdq_quality
                && qy >= cfg.pdq_quality
            {
                let d = x.hamming(&y);
                if d <= cfg.pdq_threshold && best_pdq.is_none_or(|b| d < b) {
                    best_pdq = Some(d);
                }
            }
        }
    }
    if let Some(distance) = best_pdq {
        return Some(LinkRule::Pdq { distance });
    }
    let vpdq = VpdqConfig::default();
    for ma in &a.media {
        for mb in &b.media {
            if let (Some(x), Some(y)) = (&ma.vpdq, &mb.vpdq) {
                let (p, q) = compare(x, y, &vpdq);
                if p >= cfg.vpdq_percent || q >= cfg.vpdq_percent {
                    return Some(LinkRule::Vpdq { percent: p.max(q) });
                }
            }
        }
    }
    if let Some(bit_error_rate) = audio() {
        return Some(LinkRule::Audio { bit_error_rate });
    }
    if let (Some(x), Some(y)) = (ta, tb) {
        let j = jaccard(x, y);
        if j >= cfg.text_jaccard {
            return Some(LinkRule::Text { jaccard: j });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use marsad_hash::pdq::PdqHash;

    use super::*;

    fn image(bits: &[usize]) -> MediaFeature {
        let mut h = [0u8; 32];
        for &b in bits {
            h[b / 8] |= 1 << (b % 8);
        }
        MediaFeature { pdq: Some((PdqHash::from_bytes(h), 100)), ..MediaFeature::default() }
    }

    fn post(source: &str, second: i64, text: &str, media: Vec<MediaFeature>) -> LinkPost {
        LinkPost { source: source.to_owned(), second, text: text.to_owned(), media }
    }

    #[test]
    fn each_post_is_joined_to_the_earliest_it_links_to_by_the_first_rule() {
        let cfg = GroupConfig::default();
        let words = "the statement of the office was published again today";
        let far: Vec<usize> = (0..100).collect();
        let posts = vec![
            post("telegram:1", 10, "", vec![image(&[])]),
            // 12 bits from the first image
            post("telegram:2", 20, words, vec![image(&(0..12).collect::<Vec<_>>())]),
            // its text links it to the second; its image is far from both
            post("telegram:3", 30, words, vec![image(&far)]),
            // the same second and source as the third, with media: an album
            post("telegram:3", 30, "", vec![image(&(150..250).collect::<Vec<_>>())]),
            // nothing in common with any
            post("telegram:4", 40, "another text entirely, of other words", vec![]),
        ];
        let found = links(&cfg, &posts);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!((found[0].from, found[0].to, &found[0].rule), (0, 1, &LinkRule::Pdq { distance: 12 }));
        assert_eq!((found[1].from, found[1].to, found[1].rule.name()), (1, 2, "text"));
        assert_eq!((found[2].from, found[2].to, &found[2].rule), (2, 3, &LinkRule::Album));
    }

    #[test]
    fn images_over_the_threshold_or_of_low_quality_do_not_link() {
        let cfg = GroupConfig::default();
        let mut low = image(&[]);
        low.pdq = low.pdq.map(|(h, _)| (h, 10));
        let posts = vec![
            post("telegram:1", 1, "", vec![image(&[])]),
            post("telegram:2", 2, "", vec![image(&(0..32).collect::<Vec<_>>())]),
            post("telegram:3", 3, "", vec![low]),
        ];
        assert!(links(&cfg, &posts).is_empty());
    }

    #[test]
    fn a_large_release_is_explained_over_its_first_posts() {
        let cfg = GroupConfig::default();
        let sha = Sha256([7; 32]);
        let media = MediaFeature { sha256: Some(sha), ..MediaFeature::default() };
        let posts: Vec<LinkPost> =
            (0..MAX_EXPLAINED + 50).map(|i| post("telegram:9", i as i64, "", vec![media.clone()])).collect();
        let found = links(&cfg, &posts);
        assert_eq!(found.len(), MAX_EXPLAINED - 1);
        assert!(found.iter().all(|l| l.from == 0 && l.rule == LinkRule::SameMedia(sha)));
    }
}
