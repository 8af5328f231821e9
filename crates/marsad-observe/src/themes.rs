//! Theme coding: taxonomies, the share of releases per theme, and the
//! agreement of the analysts who coded them.
//!
//! A taxonomy is a TOML file of `[[theme]]` tables (`key`, `label`,
//! `description`); Winter's six narratives of 2015 (mercy, belonging,
//! brutality, victimhood, war, utopia) are [`DEFAULT_TAXONOMY`]. Each
//! analyst codes a release with one primary theme and optional secondary
//! ones.
//!
//! - [`shares`]: the share of releases per primary theme per bucket of
//!   first seen, overall or per outlet — the table published studies print.
//!   A release coded by several analysts counts once: under the primary
//!   theme most of them chose, a tie split evenly between the tied themes.
//! - [`cohen_kappa`]: agreement of two coders on the primary themes of the
//!   releases both coded, corrected for chance (Cohen 1960).
//! - [`krippendorff_alpha`]: agreement of all coders at once, nominal, with
//!   releases coded by any number of them (Krippendorff 2011); releases
//!   coded once are not pairable and count for nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::analytics::{Filter, Observatory};
use crate::calendar::Bucket;

/// Winter's six narratives (Charlie Winter, *Documenting the Virtual
/// "Caliphate"*, Quilliam, 2015).
pub const DEFAULT_TAXONOMY: &str = include_str!("winter2015.toml");

/// A theme of a taxonomy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// Its key, as codes name it (`utopia`).
    pub key: String,
    /// Its name as shown.
    pub label: String,
    /// What it covers.
    #[serde(default)]
    pub description: String,
}

/// A taxonomy of themes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// Its name (`winter-2015`).
    pub name: String,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Its themes, in order.
    #[serde(rename = "theme")]
    pub themes: Vec<Theme>,
}

impl Taxonomy {
    /// Parses and checks a taxonomy: a name; 2 to 64 themes; keys of 1 to
    /// 32 lowercase letters, digits, `-` or `_`, each once; labels of 1 to
    /// 100 characters.
    pub fn parse(text: &str) -> Result<Taxonomy, String> {
        let t: Taxonomy = toml::from_str(text).map_err(|e| e.to_string())?;
        let key_ok = |k: &str| {
            (1..=32).contains(&k.len())
                && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        };
        if t.name.trim().is_empty() || t.name.len() > 64 {
            return Err("the taxonomy needs a name of 1 to 64 characters".to_owned());
        }
        let control = |s: &str| s.chars().any(|c| c.is_control() && c != '\n');
        if control(&t.name) || control(&t.title) || t.themes.iter().any(|th| control(&th.description)) {
            return Err("control characters in the taxonomy's name, title or a description".to_owned());
        }
        if !(2..=64).contains(&t.themes.len()) {
            return Err(format!("{} themes: a taxonomy has 2 to 64", t.themes.len()));
        }
        let mut seen = BTreeSet::new();
        for th in &t.themes {
            if !key_ok(&th.key) {
                return Err(format!("theme key {:?}: 1 to 32 lowercase letters, digits, - or _", th.key));
            }
            if !seen.insert(th.key.as_str()) {
                return Err(format!("theme {:?} is given twice", th.key));
            }
            let n = th.label.chars().count();
            if n == 0 || n > 100 || th.label.chars().any(char::is_control) {
                return Err(format!("theme {:?}: a label of 1 to 100 characters", th.key));
            }
        }
        Ok(t)
    }

    /// The default taxonomy.
    pub fn default_taxonomy() -> Taxonomy {
        // Shipped and tested: it parses.
        Taxonomy::parse(DEFAULT_TAXONOMY).expect("the shipped taxonomy parses")
    }

    /// Whether `key` is one of its themes.
    pub fn has(&self, key: &str) -> bool {
        self.themes.iter().any(|t| t.key == key)
    }
}

/// One analyst's code of one release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    /// The release's id.
    pub release: i64,
    /// The analyst.
    pub coder: String,
    /// The primary theme.
    pub primary: String,
    /// Secondary themes.
    pub secondary: Vec<String>,
}

/// A row of the themes table.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ThemeShare {
    /// Start of the bucket (RFC 3339).
    pub bucket: String,
    /// The Hijri month, for Hijri buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The outlet (with `--by outlet`; `null` for releases of none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlet: Option<Option<String>>,
    /// The theme's key.
    pub theme: String,
    /// Releases coded with it as primary (a tie split evenly).
    pub releases: f64,
    /// Its share of the coded releases of the bucket (and outlet), 0 to 1.
    pub share: f64,
    /// Coded releases of the bucket (and outlet).
    pub coded: u64,
}

/// The primary theme(s) a release counts under, each with its weight.
fn consensus(codes: &[&Code]) -> Vec<(String, f64)> {
    let mut votes: BTreeMap<&str, u32> = BTreeMap::new();
    for c in codes {
        *votes.entry(c.primary.as_str()).or_default() += 1;
    }
    let most = votes.values().copied().max().unwrap_or(0);
    let tied: Vec<&str> = votes.iter().filter(|&(_, &n)| n == most).map(|(k, _)| *k).collect();
    let w = 1.0 / tied.len().max(1) as f64;
    tied.into_iter().map(|k| (k.to_owned(), w)).collect()
}

/// The share of coded releases per primary theme per `bucket` of first
/// seen, among the releases `filter` selects, overall or `by_outlet`.
/// Every theme of `taxonomy` has a row in every bucket (and outlet) that
/// has coded releases, in the taxonomy's order.
pub fn shares(
    obs: &Observatory,
    filter: &Filter,
    bucket: Bucket,
    by_outlet: bool,
    taxonomy: &Taxonomy,
    codes: &[Code],
) -> Vec<ThemeShare> {
    let mask = filter.mask(obs);
    let mut by_release: HashMap<i64, Vec<&Code>> = HashMap::new();
    for c in codes.iter().filter(|c| taxonomy.has(&c.primary)) {
        by_release.entry(c.release).or_default().push(c);
    }
    // (bucket start, outlet) → theme → weight, and coded releases.
    type Cell = (BTreeMap<String, f64>, u64);
    let mut cells: BTreeMap<(i64, Option<Option<u32>>), Cell> = BTreeMap::new();
    for (i, r) in obs.releases.iter().enumerate() {
        if !mask[i] {
            continue;
        }
        let Some(cs) = by_release.get(&r.id) else { continue };
        let key = (bucket.start(r.first_seen), by_outlet.then_some(r.outlet));
        let cell = cells.entry(key).or_default();
        cell.1 += 1;
        for (theme, w) in consensus(cs) {
            *cell.0.entry(theme).or_default() += w;
        }
    }
    let mut out = Vec::new();
    for ((start, outlet), (weights, coded)) in cells {
        for th in &taxonomy.themes {
            let releases = weights.get(&th.key).copied().unwrap_or(0.0);
            out.push(ThemeShare {
                bucket: crate::rfc3339(start),
                label: bucket.label(start),
                outlet: outlet.map(|o| o.map(|i| obs.outlets[i as usize].clone())),
                theme: th.key.clone(),
                releases,
                share: releases / coded as f64,
                coded,
            });
        }
    }
    out
}

/// Cohen's kappa of two coders' primary themes over the releases both
/// coded: `(kappa, releases)`; `None` when they share no release, or when
/// chance alone explains every agreement (both always chose one theme).
pub fn cohen_kappa(a: &BTreeMap<i64, String>, b: &BTreeMap<i64, String>) -> Option<(f64, u64)> {
    let both: Vec<(&String, &String)> = a.iter().filter_map(|(r, x)| b.get(r).map(|y| (x, y))).collect();
    let n = both.len() as f64;
    if both.is_empty() {
        return None;
    }
    let agree = both.iter().filter(|(x, y)| x == y).count() as f64 / n;
    let mut pa: HashMap<&str, f64> = HashMap::new();
    let mut pb: HashMap<&str, f64> = HashMap::new();
    for (x, y) in &both {
        *pa.entry(x.as_str()).or_default() += 1.0 / n;
        *pb.entry(y.as_str()).or_default() += 1.0 / n;
    }
    let chance: f64 = pa.iter().map(|(k, p)| p * pb.get(k).copied().unwrap_or(0.0)).sum();
    if (1.0 - chance).abs() < 1e-12 {
        return None;
    }
    Some(((agree - chance) / (1.0 - chance), both.len() as u64))
}

/// Krippendorff's alpha, nominal, over units (releases) each with the
/// values its coders gave: `(alpha, pairable values)`; `None` when fewer
/// than two values are pairable or every pairable value is the same.
pub fn krippendorff_alpha(units: &[Vec<String>]) -> Option<(f64, u64)> {
    // The coincidence matrix: each unit of m ≥ 2 values adds, for every
    // ordered pair of its values from different coders, 1 / (m − 1).
    let mut o: HashMap<(&str, &str), f64> = HashMap::new();
    let mut n_c: HashMap<&str, f64> = HashMap::new();
    for u in units.iter().filter(|u| u.len() >= 2) {
        let m = u.len() as f64;
        for (i, x) in u.iter().enumerate() {
            for (j, y) in u.iter().enumerate() {
                if i != j {
                    *o.entry((x.as_str(), y.as_str())).or_default() += 1.0 / (m - 1.0);
                }
            }
            *n_c.entry(x.as_str()).or_default() += 1.0;
        }
    }
    let n: f64 = n_c.values().sum();
    if n < 2.0 {
        return None;
    }
    let disagree: f64 = o.iter().filter(|((c, k), _)| c != k).map(|(_, v)| v).sum();
    let expected: f64 = {
        let all: f64 = n_c.values().sum::<f64>().powi(2);
        let same: f64 = n_c.values().map(|v| v * v).sum();
        (all - same) / (n - 1.0)
    };
    if expected <= 0.0 {
        return None;
    }
    Some((1.0 - disagree / expected, n as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coder(pairs: &[(i64, &str)]) -> BTreeMap<i64, String> {
        pairs.iter().map(|&(r, t)| (r, t.to_owned())).collect()
    }

    #[test]
    fn the_shipped_taxonomy_is_winters_six() {
        let t = Taxonomy::default_taxonomy();
        let keys: Vec<&str> = t.themes.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["mercy", "belonging", "brutality", "victimhood", "war", "utopia"]);
    }

    #[test]
    fn bad_taxonomies_are_refused_with_the_reason() {
        let one = "name = \"x\"\n[[theme]]\nkey = \"a\"\nlabel = \"A\"\n";
        assert!(Taxonomy::parse(one).expect_err("one theme").contains("2 to 64"));
        let twice = format!("{one}[[theme]]\nkey = \"a\"\nlabel = \"B\"\n");
        assert!(Taxonomy::parse(&twice).expect_err("twice").contains("twice"));
        let bad_key = format!("{one}[[theme]]\nkey = \"Not Ok\"\nlabel = \"B\"\n");
        assert!(Taxonomy::parse(&bad_key).expect_err("key").contains("lowercase"));
        assert!(Taxonomy::parse("name = \"x\"\nextra = 1\n").is_err());
    }

    #[test]
    fn kappa_of_a_textbook_two_by_two_table() {
        // 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15:
        // p_o = 0.7, p_e = 0.5·0.6 + 0.5·0.4 = 0.5, kappa = 0.4.
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut id = 0;
        for (n, x, y) in [(20, "yes", "yes"), (5, "yes", "no"), (10, "no", "yes"), (15, "no", "no")] {
            for _ in 0..n {
                a.push((id, x));
                b.push((id, y));
                id += 1;
            }
        }
        let (k, n) = cohen_kappa(&coder(&a), &coder(&b)).expect("kappa");
        assert!((k - 0.4).abs() < 1e-12, "{k}");
        assert_eq!(n, 50);
        // Perfect agreement is 1; items coded by one only do not count.
        let same = coder(&[(1, "war"), (2, "utopia"), (3, "war")]);
        let mut more = same.clone();
        more.insert(9, "mercy".to_owned());
        assert_eq!(cohen_kappa(&same, &more), Some((1.0, 3)));
        assert_eq!(cohen_kappa(&same, &coder(&[(7, "war")])), None);
        assert_eq!(cohen_kappa(&coder(&[(1, "war")]), &coder(&[(1, "war")])), None, "chance explains it all");
    }

    #[test]
    fn alpha_of_krippendorffs_own_nominal_example() {
        // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
        // the nominal example: 4 observers, 12 units, values missing;
        // alpha = 0.743.
        let rows: [[Option<u8>; 12]; 4] = [
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(1),
                Some(4),
                Some(1),
                Some(2),
                None,
                None,
                None,
            ],
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(2),
                Some(4),
                Some(1),
                Some(2),
                Some(5),
                None,
                Some(3),
            ],
            [
                None,
                Some(3),
                Some(3),
                Some(3),
                Some(2),
                Some(3),
                Some(4),
                Some(2),
                Some(2),
                Some(5),
                Some(1),
                None,
            ],
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(4),
                Some(4),
                Some(1),
                Some(2),
                Some(5),
                Some(1),
                None,
            ],
        ];
        let units: Vec<Vec<String>> =
            (0..12).map(|u| rows.iter().filter_map(|r| r[u]).map(|v| v.to_string()).collect()).collect();
        let (alpha, n) = krippendorff_alpha(&units).expect("alpha");
        assert!((alpha - 0.743).abs() < 0.0005, "{alpha}");
        assert_eq!(n, 40, "the single value of unit 12 is not pairable");
        assert_eq!(
            krippendorff_alpha(&[vec!["a".into(), "a".into()], vec!["b".into(), "b".into()]]).map(|a| a.0),
            Some(1.0)
        );
        assert_eq!(krippendorff_alpha(&[vec!["a".into()]]), None);
    }

    #[test]
    fn shares_count_each_release_once_by_its_coders_majority() {
        use crate::analytics::Release;
        use crate::describe::Format;
        let day = 86_400_000_000i64;
        let release = |id: i64, first_seen: i64, outlet: Option<u32>| Release {
            id,
            first_seen,
            last_seen: first_seen,
            outlet,
            format: Format::Video,
            language: None,
            source: 0,
        };
        let obs = Observatory {
            releases: vec![
                release(1, day, Some(0)),
                release(2, 2 * day, Some(0)),
                release(3, 3 * day, None),
                release(4, 40 * day, None),
            ],
            sightings: Vec::new(),
            sources: vec!["telegram:1".to_owned()],
            outlets: vec!["A".to_owned()],
            languages: Vec::new(),
        };
        let code = |release: i64, coder: &str, primary: &str| Code {
            release,
            coder: coder.to_owned(),
            primary: primary.to_owned(),
            secondary: Vec::new(),
        };
        let codes = vec![
            code(1, "a", "war"),
            code(1, "b", "war"),
            code(1, "c", "utopia"),
            // a tie: half each
            code(2, "a", "utopia"),
            code(2, "b", "mercy"),
            code(3, "a", "utopia"),
            code(4, "a", "brutality"),
            // not of the taxonomy: ignored
            code(4, "b", "nonsense"),
        ];
        let tax = Taxonomy::default_taxonomy();
        let rows = shares(&obs, &Filter::default(), Bucket::Month, false, &tax, &codes);
        assert_eq!(rows.len(), 12, "six themes in each of two months");
        let get = |bucket: usize, theme: &str| {
            rows.iter().filter(|r| r.theme == theme).nth(bucket).expect("row").clone()
        };
        assert_eq!((get(0, "war").releases, get(0, "war").coded), (1.0, 3));
        assert_eq!(get(0, "utopia").releases, 1.5);
        assert!((get(0, "utopia").share - 0.5).abs() < 1e-12);
        assert_eq!(get(0, "mercy").releases, 0.5);
        assert_eq!((get(1, "brutality").share, get(1, "brutality").coded), (1.0, 1));
        let total: f64 = rows.iter().filter(|r| r.bucket == rows[0].bucket).map(|r| r.share).sum();
        assert!((total - 1.0).abs() < 1e-12, "the shares of a bucket add up to one");
        let by = shares(&obs, &Filter::default(), Bucket::Month, true, &tax, &codes);
        assert!(by.iter().any(|r| r.outlet == Some(Some("A".to_owned())) && r.coded == 2));
        assert!(by.iter().any(|r| r.outlet == Some(None) && r.coded == 1 && r.bucket == rows[0].bucket));
    }
}
