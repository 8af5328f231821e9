//! The cast of the demo corpus: fictional outlets with neutral invented
//! names, the supporter chats that repost them, and the registry file.

use std::fmt::Write;

use crate::telegram::ChatKind;
use crate::text::Lang;

/// A fictional outlet.
#[derive(Debug)]
pub(crate) struct OutletDef {
    pub name: &'static str,
    /// Arabic alias first, then any short English name.
    pub aliases: &'static [&'static str],
    pub region: &'static str,
    /// Folder name of its export.
    pub slug: &'static str,
    /// Mean releases per day at scale 1.
    pub rate: f64,
    /// Caption languages with relative weights.
    pub langs: &'static [(Lang, u32)],
    /// House colour of its image mark.
    pub brand: [u8; 3],
    pub stop: Stop,
}

/// When an outlet falls silent for good.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stop {
    Never,
    /// After this fraction of the window.
    AtFraction(f64),
    /// For the last N days of the window (but never before its middle).
    DaysBeforeEnd(i64),
}

pub(crate) const OUTLETS: &[OutletDef] = &[
    OutletDef {
        name: "Northern Lantern Media",
        aliases: &["مؤسسة الفانوس الشمالي", "Lantern Media"],
        region: "Northern Valley",
        slug: "northern-lantern-media",
        rate: 1.25,
        langs: &[(Lang::Ar, 6), (Lang::En, 3), (Lang::Fr, 1)],
        brand: [214, 160, 40],
        stop: Stop::Never,
    },
    OutletDef {
        name: "Palm Grove Productions",
        aliases: &["مؤسسة النخيل"],
        region: "Palm Coast",
        slug: "palm-grove-productions",
        rate: 0.9,
        langs: &[(Lang::Ar, 9), (Lang::En, 1)],
        brand: [40, 140, 70],
        stop: Stop::Never,
    },
    OutletDef {
        name: "Blue River Bulletin",
        aliases: &["نشرة النهر الأزرق", "Blue River"],
        region: "River Delta",
        slug: "blue-river-bulletin",
        rate: 0.75,
        langs: &[(Lang::Ar, 5), (Lang::Fr, 4), (Lang::En, 1)],
        brand: [30, 90, 200],
        stop: Stop::Never,
    },
    OutletDef {
        name: "Cedar Hill Studio",
        aliases: &["استوديو تلة الأرز"],
        region: "Cedar Highlands",
        slug: "cedar-hill-studio",
        rate: 0.6,
        langs: &[(Lang::Ar, 5), (Lang::Tr, 4), (Lang::En, 1)],
        brand: [120, 80, 50],
        stop: Stop::DaysBeforeEnd(21),
    },
    OutletDef {
        name: "Morning Dew Press",
        aliases: &["دار ندى الصباح", "Dew Press"],
        region: "Eastern Plains",
        slug: "morning-dew-press",
        rate: 0.5,
        langs: &[(Lang::En, 6), (Lang::Ar, 4)],
        brand: [150, 200, 230],
        stop: Stop::AtFraction(0.35),
    },
    OutletDef {
        name: "Sand Dune Gazette",
        aliases: &["صحيفة الكثبان الرملية"],
        region: "Southern Dunes",
        slug: "sand-dune-gazette",
        rate: 0.4,
        langs: &[(Lang::Ar, 7), (Lang::En, 2), (Lang::Tr, 1)],
        brand: [220, 190, 130],
        stop: Stop::AtFraction(0.6),
    },
];

/// Telegram id of the first outlet channel; the others follow.
pub(crate) const OUTLET_ID_BASE: i64 = 1_000_000_001;

/// A chat that reposts outlet releases.
#[derive(Debug)]
pub(crate) struct SupporterDef {
    pub name: &'static str,
    pub kind: ChatKind,
    /// Indices into [`OUTLETS`].
    pub follows: &'static [usize],
    /// Chance of reposting a release of a followed outlet.
    pub repost: f64,
    /// Share of reposts that are forwards rather than re-uploads.
    pub forward_share: f64,
}

pub(crate) const SUPPORTERS: &[SupporterDef] = &[
    SupporterDef {
        name: "Weather Watchers Club",
        kind: ChatKind::PublicChannel,
        follows: &[0, 2, 4],
        repost: 0.35,
        forward_share: 0.5,
    },
    SupporterDef {
        name: "قناة المتابعة اليومية",
        kind: ChatKind::PublicChannel,
        follows: &[0, 1, 5],
        repost: 0.3,
        forward_share: 0.2,
    },
    SupporterDef {
        name: "Market Photos Archive",
        kind: ChatKind::PublicChannel,
        follows: &[1, 3],
        repost: 0.3,
        forward_share: 0.3,
    },
    SupporterDef {
        name: "Le Coin des Nouvelles",
        kind: ChatKind::PublicChannel,
        follows: &[2, 3, 4],
        repost: 0.25,
        forward_share: 0.4,
    },
    SupporterDef {
        name: "Evening Reading Circle",
        kind: ChatKind::PublicSupergroup,
        follows: &[0, 1, 2, 5],
        repost: 0.12,
        forward_share: 0.5,
    },
];

/// Telegram id of the first supporter chat; the others follow.
pub(crate) const SUPPORTER_ID_BASE: i64 = 1_000_000_101;

/// Fictional members who post in the supergroup or join it.
pub(crate) const MEMBERS: &[&str] = &[
    "Karim S.", "Nadia R.", "Sami T.", "Leila M.", "Yara H.", "Tariq B.", "Rania F.", "Omar D.", "Dina K.",
    "Fadi N.", "Huda A.", "Ziad L.",
];

/// Telegram user id of the first member; the others follow.
pub(crate) const MEMBER_ID_BASE: i64 = 5_000_000_001;

/// Members who post reposts; the rest only join.
pub(crate) const POSTING_MEMBERS: usize = 5;

/// `outlets.toml`: the outlet registry marsad reads.
pub(crate) fn outlets_toml() -> String {
    let mut out = String::from(
        "# Outlet registry of the marsad demo corpus.\n\
         # Every outlet, channel and region here is fictional.\n",
    );
    for (i, o) in OUTLETS.iter().enumerate() {
        let aliases: Vec<String> = o.aliases.iter().map(|a| toml_string(a)).collect();
        // Writing into a String cannot fail.
        let _ = write!(
            out,
            "\n[[outlet]]\nname = {}\naliases = [{}]\nchannels = [\"telegram:{}\"]\nregion = {}\n",
            toml_string(o.name),
            aliases.join(", "),
            OUTLET_ID_BASE + i as i64,
            toml_string(o.region),
        );
    }
    out
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly.
mod tests {
    use super::*;

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string("a \"b\" \\ c"), r#""a \"b\" \\ c""#);
    }

    #[test]
    fn registry_lists_every_outlet() {
        let toml = outlets_toml();
        assert_eq!(toml.matches("[[outlet]]").count(), OUTLETS.len());
        assert!(toml.contains("channels = [\"telegram:1000000001\"]"));
        assert!(toml.contains("aliases = [\"مؤسسة النخيل\"]"));
    }

    #[test]
    fn supporters_follow_existing_outlets() {
        for s in SUPPORTERS {
            assert!(s.follows.iter().all(|&o| o < OUTLETS.len()));
        }
    }
}
