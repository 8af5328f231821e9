//! The sighting, defined once: the posts of one release in one source in
//! one second (an album, several posts sent together, is one sighting).
//! Backends, the release descriptions and the observatory's columns all
//! count sightings through these functions, so that they cannot disagree.
//!
//! - The second is the **floor** of the UTC microseconds over 10⁶
//!   ([`sighting_second`]): a post half a second before 1970 is in second
//!   −1, not in second 0 with the post half a second after (SQL's integer
//!   `/` truncates towards zero and would put them together).
//! - The first post of a sighting (whose time and platform id the sighting
//!   carries), and of a release, is the least in [`post_order`]: earliest
//!   time, then platform post id compared as a number when both are
//!   decimal digits ("9" before "10"), else as text, numeric ids before
//!   other ones; then the store's source id. The platform post id is
//!   preferred over the store's post id because it belongs to the data, not
//!   to the order in which exports happened to be ingested: the same
//!   corpus gives the same first posts in every store.

use std::cmp::Ordering;

use marsad_core::UtcTime;

/// The second a post at `t` is sighted in: microseconds since the epoch
/// divided by 10⁶, rounded down (towards −∞, also before 1970).
pub fn sighting_second(t: UtcTime) -> i64 {
    second_of_micros(t.unix_micros())
}

/// [`sighting_second`] of a time in microseconds since the epoch (for
/// columns of bare integers).
pub fn second_of_micros(micros: i64) -> i64 {
    micros.div_euclid(1_000_000)
}

/// Whether a platform post id is a decimal number (compared by value).
fn numeric(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

/// Platform post ids in a total order: decimal ids by value (of any
/// length: compared as digit strings without leading zeros, then as text,
/// so that "09" and "9" are still told apart), before every other id;
/// other ids as text (bytes).
pub fn cmp_platform_post_ids(a: &str, b: &str) -> Ordering {
    match (numeric(a), numeric(b)) {
        (true, true) => {
            let (x, y) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            x.len().cmp(&y.len()).then_with(|| x.cmp(y)).then_with(|| a.cmp(b))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// A post as sightings are made of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SightingPost<'a> {
    /// The store's id of its source.
    pub source_id: i64,
    /// When it was posted.
    pub posted_at: UtcTime,
    /// The platform's id of the post (unique within its source).
    pub platform_post_id: &'a str,
}

/// The order that picks the first post of a sighting or a release:
/// earliest time, then [`cmp_platform_post_ids`], then source id (total:
/// a platform post id is unique within its source).
pub fn post_order(a: &SightingPost<'_>, b: &SightingPost<'_>) -> Ordering {
    a.posted_at
        .cmp(&b.posted_at)
        .then_with(|| cmp_platform_post_ids(a.platform_post_id, b.platform_post_id))
        .then_with(|| a.source_id.cmp(&b.source_id))
}

/// One sighting of a release, as [`sightings_of`] finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sighting {
    /// The store's id of its source.
    pub source_id: i64,
    /// Its second ([`sighting_second`]).
    pub second: i64,
    /// Index (in the posts given) of its first post in [`post_order`].
    pub first: usize,
    /// How many posts it holds.
    pub posts: u64,
}

/// The sightings of the posts of one release, by [`post_order`] of their
/// first posts.
pub fn sightings_of(posts: &[SightingPost<'_>]) -> Vec<Sighting> {
    let mut order: Vec<usize> = (0..posts.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&posts[i], &posts[j]);
        a.source_id
            .cmp(&b.source_id)
            .then_with(|| sighting_second(a.posted_at).cmp(&sighting_second(b.posted_at)))
            .then_with(|| post_order(a, b))
    });
    let mut out: Vec<Sighting> = Vec::new();
    for i in order {
        let p = &posts[i];
        let second = sighting_second(p.posted_at);
        match out.last_mut() {
            Some(s) if s.source_id == p.source_id && s.second == second => s.posts += 1,
            _ => out.push(Sighting { source_id: p.source_id, second, first: i, posts: 1 }),
        }
    }
    out.sort_by(|a, b| post_order(&posts[a.first], &posts[b.first]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> UtcTime {
        UtcTime::from_unix_micros(micros).unwrap()
    }

    #[test]
    fn seconds_round_down_before_1970_too() {
        let check =
            |micros: i64, expected: i64| assert_eq!(sighting_second(at(micros)), expected, "{micros}");
        check(0, 0);
        check(999_999, 0);
        check(1_000_000, 1);
        check(-1, -1);
        check(-500_000, -1);
        check(-1_000_000, -1);
        check(-1_000_001, -2);
    }

    #[test]
    fn platform_post_ids_compare_as_numbers_when_both_are() {
        let check = |a: &str, b: &str, expected: Ordering| {
            assert_eq!(cmp_platform_post_ids(a, b), expected, "{a:?} {b:?}");
            assert_eq!(cmp_platform_post_ids(b, a), expected.reverse(), "{b:?} {a:?}");
        };
        check("9", "10", Ordering::Less);
        check("10", "10", Ordering::Equal);
        check("09", "9", Ordering::Less);
        check("99999999999999999999999", "100000000000000000000000", Ordering::Less);
        check("10", "5a", Ordering::Less);
        check("9", "5a", Ordering::Less);
        check("5a", "b", Ordering::Less);
        check("", "1", Ordering::Greater);
        // Total: sorting any mix gives one order, whatever the input order.
        let mut ids = vec!["b", "10", "5a", "9", "", "09", "100"];
        ids.sort_by(|a, b| cmp_platform_post_ids(a, b));
        assert_eq!(ids, ["09", "9", "10", "100", "", "5a", "b"]);
    }

    #[test]
    fn sightings_group_by_source_and_floored_second() {
        let p = |source_id: i64, micros: i64, id: &'static str| SightingPost {
            source_id,
            posted_at: at(micros),
            platform_post_id: id,
        };
        let posts = [
            p(1, 200_000, "12"),  // second 0
            p(1, -300_000, "11"), // second -1
            p(1, -700_000, "10"), // second -1
            p(1, -700_000, "9"),  // second -1, same time: "9" is first
            p(2, -700_000, "20"), // another source
        ];
        let s = sightings_of(&posts);
        assert_eq!(
            s,
            [
                Sighting { source_id: 1, second: -1, first: 3, posts: 3 },
                Sighting { source_id: 2, second: -1, first: 4, posts: 1 },
                Sighting { source_id: 1, second: 0, first: 0, posts: 1 },
            ]
        );
        assert!(sightings_of(&[]).is_empty());
    }
}
