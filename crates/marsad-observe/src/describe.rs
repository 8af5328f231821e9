//! What a release is: its format, its language, and which outlet it comes
//! from, with the evidence.

use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, MatchKind};
pub use marsad_core::Evidence;
use marsad_core::{EntryId, MediaKind, SourceKey, UtcTime};

use crate::registry::{Outlet, RegistryError};

/// The kind of content of a release (defined in marsad-core, where the
/// store can name it).
pub use marsad_core::ReleaseFormat as Format;

/// The format of a sighting from the kinds of its media (declared kinds
/// count even when a file was not exported): video, then audio, then three
/// or more images (a photo report), then images, then documents, else text.
pub fn format_of(kinds: &[MediaKind]) -> Format {
    let count = |k: MediaKind| kinds.iter().filter(|&&x| x == k).count();
    if count(MediaKind::Video) > 0 {
        Format::Video
    } else if count(MediaKind::Audio) > 0 {
        Format::Audio
    } else if count(MediaKind::Image) >= 3 {
        Format::PhotoReport
    } else if count(MediaKind::Image) > 0 {
        Format::Photo
    } else if count(MediaKind::Document) > 0 {
        Format::Document
    } else {
        Format::Text
    }
}

/// The ISO 639-1 code of the language of `text`, or `None` when it cannot
/// be told (no letters).
///
/// Links, hashtags and mentions are set aside first. whichlang (a small
/// model of 16 major languages) decides, because on short captions it is
/// far more accurate than trigram detection (whatlang took plain English
/// for Dutch and French for Afrikaans on the demo's captions); for Arabic
/// script, whatlang then tells Arabic, Persian and Urdu apart, which
/// whichlang does not know. Languages outside these are reported as the
/// nearest of them: a limit of the models, documented.
pub fn language_of(text: &str) -> Option<String> {
    let cleaned: String = text
        .split_whitespace()
        .filter(|w| {
            !(w.starts_with("http://")
                || w.starts_with("https://")
                || w.starts_with('#')
                || w.starts_with('@'))
        })
        .collect::<Vec<_>>()
        .join(" ");
    if !cleaned.chars().any(char::is_alphabetic) {
        return None;
    }
    use whichlang::Lang as W;
    let code = match whichlang::detect_language(&cleaned) {
        W::Ara => {
            let arabic_script = whatlang::Detector::with_allowlist(vec![
                whatlang::Lang::Ara,
                whatlang::Lang::Pes,
                whatlang::Lang::Urd,
            ]);
            match arabic_script.detect_lang(&cleaned) {
                Some(whatlang::Lang::Pes) => "fa",
                Some(whatlang::Lang::Urd) => "ur",
                _ => "ar",
            }
        }
        W::Cmn => "zh",
        W::Deu => "de",
        W::Eng => "en",
        W::Fra => "fr",
        W::Hin => "hi",
        W::Ita => "it",
        W::Jpn => "ja",
        W::Kor => "ko",
        W::Nld => "nl",
        W::Por => "pt",
        W::Rus => "ru",
        W::Spa => "es",
        W::Swe => "sv",
        W::Tur => "tr",
        W::Vie => "vi",
    };
    Some(code.to_owned())
}

/// A post of a release, as attribution sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleasePost {
    /// Where it was posted.
    pub source: SourceKey,
    /// The platform's id of the post.
    pub post_id: String,
    /// When (microseconds, UTC).
    pub time: i64,
    /// Its text.
    pub text: String,
}

/// A bank entry one of the release's items matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchedLabels {
    /// The bank.
    pub bank: String,
    /// The entry.
    pub entry_id: EntryId,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// Who a release is attributed to, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribution {
    /// The outlet's name, or `None` (unknown).
    pub outlet: Option<String>,
    /// The evidence: which rule decided, and on what.
    pub evidence: Evidence,
}

/// Attributes releases to registered outlets.
#[derive(Debug)]
pub struct Attributor {
    outlets: Vec<Outlet>,
    by_channel: HashMap<SourceKey, usize>,
    by_name: HashMap<String, usize>,
    /// Normalized names and aliases, and whose they are.
    patterns: Vec<(String, usize)>,
    search: Option<AhoCorasick>,
}

/// Arabic one-letter prefixes (and, so, with, for, like) that may be glued
/// to a name mentioned in a text: "ومؤسسة…" still names "مؤسسة…".
const CLITICS: [char; 5] = ['و', 'ف', 'ب', 'ل', 'ك'];

impl Attributor {
    /// An attributor for a registry; [`RegistryError::Names`] when its
    /// names cannot be searched for in texts (rather than attributing by
    /// channel and labels alone without saying so).
    pub fn new(outlets: &[Outlet]) -> Result<Self, RegistryError> {
        let mut by_channel = HashMap::new();
        let mut by_name = HashMap::new();
        let mut patterns = Vec::new();
        for (i, o) in outlets.iter().enumerate() {
            for c in &o.channels {
                by_channel.insert(c.clone(), i);
            }
            for n in std::iter::once(&o.name).chain(&o.aliases) {
                let norm = marsad_hash::text::normalize(n);
                if !norm.is_empty() {
                    by_name.entry(norm.clone()).or_insert(i);
                    patterns.push((norm, i));
                }
            }
        }
        let search = if patterns.is_empty() {
            None
        } else {
            let built = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(patterns.iter().map(|(p, _)| p.as_str()))
                .map_err(|e| RegistryError::Names(e.to_string()))?;
            Some(built)
        };
        Ok(Attributor { outlets: outlets.to_vec(), by_channel, by_name, patterns, search })
    }

    /// The registered outlets.
    pub fn outlets(&self) -> &[Outlet] {
        &self.outlets
    }

    /// The outlet whose channel this is.
    pub fn outlet_of_channel(&self, source: &SourceKey) -> Option<&Outlet> {
        self.by_channel.get(source).map(|&i| &self.outlets[i])
    }

    /// The first outlet named in `text` (normalized by the caller), with the
    /// name found: a name must start a word (or follow a one-letter Arabic
    /// prefix) and end one.
    pub fn named_in(&self, normalized: &str) -> Option<(&Outlet, &str)> {
        let search = self.search.as_ref()?;
        for m in search.find_iter(normalized) {
            let (s, e) = (m.start(), m.end());
            let before = &normalized[..s];
            let starts = before.is_empty()
                || before.ends_with(' ')
                || before.chars().last().is_some_and(|c| {
                    CLITICS.contains(&c) && {
                        let rest = &before[..before.len() - c.len_utf8()];
                        rest.is_empty() || rest.ends_with(' ')
                    }
                });
            let ends = e == normalized.len() || normalized[e..].starts_with(' ');
            if starts && ends {
                let (pattern, i) = &self.patterns[m.pattern().as_usize()];
                return Some((&self.outlets[*i], pattern.as_str()));
            }
        }
        None
    }

    /// Attributes a release: the outlet whose registered channel carries
    /// its earliest sighting among registered channels; else an outlet
    /// named in the labels of a bank entry it matched; else an outlet whose
    /// name or alias occurs in one of its posts' text (earliest post
    /// first); else unknown. `posts` must be sorted by time.
    pub fn attribute(&self, posts: &[ReleasePost], matched: &[MatchedLabels]) -> Attribution {
        for p in posts {
            if let Some(o) = self.outlet_of_channel(&p.source) {
                return Attribution {
                    outlet: Some(o.name.clone()),
                    evidence: Evidence::Channel {
                        channel: p.source.clone(),
                        post_id: p.post_id.clone(),
                        // Times come from the store, which holds only valid ones.
                        posted_at: UtcTime::from_unix_micros(p.time).unwrap_or(UtcTime::from_unix_seconds(0)),
                    },
                };
            }
        }
        let mut matched: Vec<&MatchedLabels> = matched.iter().collect();
        matched.sort_by_key(|m| m.entry_id);
        for m in matched {
            for (key, value) in &m.labels {
                if let Some(&i) = self.by_name.get(&marsad_hash::text::normalize(value)) {
                    return Attribution {
                        outlet: Some(self.outlets[i].name.clone()),
                        evidence: Evidence::BankLabel {
                            bank: m.bank.clone(),
                            entry_id: m.entry_id,
                            label: key.clone(),
                            value: value.clone(),
                        },
                    };
                }
            }
        }
        for p in posts {
            let norm = marsad_hash::text::normalize(&p.text);
            if let Some((o, name)) = self.named_in(&norm) {
                return Attribution {
                    outlet: Some(o.name.clone()),
                    evidence: Evidence::Text {
                        channel: p.source.clone(),
                        post_id: p.post_id.clone(),
                        name: name.to_owned(),
                    },
                };
            }
        }
        Attribution { outlet: None, evidence: Evidence::None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::parse;

    fn registry() -> Attributor {
        Attributor::new(
            &parse(
                r#"
                [[outlet]]
                name = "Northern Lantern Media"
                aliases = ["مؤسسة الفانوس الشمالي", "Lantern Media"]
                channels = ["telegram:1"]
                [[outlet]]
                name = "Palm Grove"
                aliases = ["مؤسسة النخيل"]
                channels = ["telegram:2"]
                "#,
            )
            .unwrap(),
        )
        .unwrap()
    }

    fn post(source: &str, t: i64, text: &str) -> ReleasePost {
        ReleasePost {
            source: crate::registry::parse_channel(source).unwrap(),
            post_id: t.to_string(),
            time: t,
            text: text.to_owned(),
        }
    }

    #[test]
    fn formats() {
        use MediaKind::*;
        assert_eq!(format_of(&[]), Format::Text);
        assert_eq!(format_of(&[Image]), Format::Photo);
        assert_eq!(format_of(&[Image, Image, Image]), Format::PhotoReport);
        assert_eq!(format_of(&[Image, Video]), Format::Video);
        assert_eq!(format_of(&[Document]), Format::Document);
        assert_eq!(format_of(&[Audio, Image]), Format::Audio);
    }

    #[test]
    fn languages() {
        assert_eq!(language_of("هذه نشرة أخبار قصيرة عن الطقس في المدينة اليوم").as_deref(), Some("ar"));
        assert_eq!(
            language_of("The weather bulletin for the northern city this morning").as_deref(),
            Some("en")
        );
        assert_eq!(language_of("").as_deref(), None);
        assert_eq!(language_of("https://example.org #tag 123").as_deref(), None);
        assert_eq!(
            language_of(
                "A calligraphy workshop for children opened in the western hills. Stalls open at 9 a.m."
            )
            .as_deref(),
            Some("en")
        );
        assert_eq!(
            language_of("Bulletin météo du samedi : ciel dégagé, vent léger, 10 °C l'après-midi.").as_deref(),
            Some("fr")
        );
        assert_eq!(language_of("Komşu köylerde zeytin hasadı bu sezon bereketli.").as_deref(), Some("tr"));
        assert_eq!(
            language_of("این یک گزارش کوتاه درباره بازار شهر و هوای امروز است که برای خوانندگان نوشته شده")
                .as_deref(),
            Some("fa")
        );
    }

    #[test]
    fn attribution_rules_in_order() {
        let a = registry();
        // A registered channel carries the earliest registered sighting.
        let r = a.attribute(
            &[post("telegram:9", 1, "x"), post("telegram:2", 2, "y"), post("telegram:1", 3, "z")],
            &[],
        );
        assert_eq!(r.outlet.as_deref(), Some("Palm Grove"));
        assert_eq!(r.evidence.rule(), "channel");
        // A bank label naming an outlet (by an alias, normalized).
        let labels = MatchedLabels {
            bank: "b".into(),
            entry_id: EntryId(5),
            labels: [("outlet".to_owned(), "مُؤسسة النخيل".to_owned())].into_iter().collect(),
        };
        let r = a.attribute(&[post("telegram:9", 1, "Lantern Media says")], &[labels]);
        assert_eq!((r.outlet.as_deref(), Some(r.evidence.rule())), (Some("Palm Grove"), Some("bank_label")));
        // A name in a text, with a clitic glued on; not inside another word.
        let r = a.attribute(&[post("telegram:9", 1, "نشرة من ومؤسسة الفانوس الشمالي اليوم")], &[]);
        assert_eq!(
            (r.outlet.as_deref(), Some(r.evidence.rule())),
            (Some("Northern Lantern Media"), Some("text"))
        );
        let r = a.attribute(&[post("telegram:9", 1, "XLantern Media")], &[]);
        assert_eq!(r.outlet, None);
        assert_eq!(r.evidence, Evidence::None);
    }
}
