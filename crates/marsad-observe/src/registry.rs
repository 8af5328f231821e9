//! The outlet registry: the media outlets a researcher follows, their other
//! names and their channels, read from TOML:
//!
//! ```toml
//! [[outlet]]
//! name = "Example Media Office"
//! aliases = ["مكتب المثال"]
//! channels = ["telegram:1000000000"]   # platform:source id
//! region = "optional"
//! parent = "optional"
//! ```

use std::collections::{BTreeSet, HashMap};

use marsad_core::{Platform, SourceKey};
use serde::Deserialize;

/// A registered outlet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outlet {
    /// Its name (unique).
    pub name: String,
    /// Other names it is known by.
    pub aliases: Vec<String>,
    /// Its channels.
    pub channels: Vec<SourceKey>,
    /// Region, if given.
    pub region: Option<String>,
    /// Parent organisation, if given.
    pub parent: Option<String>,
}

/// Why a registry file was refused (nothing of it is used).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Not valid TOML, or not the expected shape.
    #[error("{0}")]
    Syntax(String),
    /// An outlet is invalid.
    #[error("outlet {index} ({name:?}): {message}")]
    Outlet {
        /// 1-based position in the file.
        index: usize,
        /// Its name, as given.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The names and aliases cannot be searched for in texts (the
    /// automaton over them could not be built, e.g. too large).
    #[error("the outlets' names and aliases cannot be searched for in texts: {0}")]
    Names(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    outlet: Vec<RawOutlet>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutlet {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    channels: Vec<String>,
    region: Option<String>,
    parent: Option<String>,
}

/// Parses a channel reference `platform:id`.
pub fn parse_channel(text: &str) -> Result<SourceKey, String> {
    let (platform, id) = text
        .split_once(':')
        .ok_or_else(|| format!("channel {text:?} must be platform:id, e.g. telegram:1000000000"))?;
    let platform = Platform::new(platform.trim()).map_err(|e| e.to_string())?;
    let id = id.trim();
    if id.is_empty() {
        return Err(format!("channel {text:?} has no id"));
    }
    Ok(SourceKey { platform, platform_id: id.to_owned() })
}

/// Parses a registry file. Names must be unique, and a channel may belong
/// to one outlet only.
pub fn parse(text: &str) -> Result<Vec<Outlet>, RegistryError> {
    let file: File = toml::from_str(text).map_err(|e| RegistryError::Syntax(e.to_string()))?;
    let mut names = BTreeSet::new();
    let mut channel_owner: HashMap<SourceKey, String> = HashMap::new();
    let mut out = Vec::with_capacity(file.outlet.len());
    for (i, raw) in file.outlet.into_iter().enumerate() {
        let fail = |message: String| RegistryError::Outlet { index: i + 1, name: raw.name.clone(), message };
        let name = raw.name.trim().to_owned();
        if name.is_empty() {
            return Err(fail("the name is empty".to_owned()));
        }
        if !names.insert(name.clone()) {
            return Err(fail("another outlet has this name".to_owned()));
        }
        let mut channels = Vec::new();
        for c in &raw.channels {
            let key = parse_channel(c).map_err(fail)?;
            if let Some(owner) = channel_owner.insert(key.clone(), name.clone()) {
                return Err(fail(format!("channel {key} is already registered to {owner:?}")));
            }
            channels.push(key);
        }
        let aliases = raw.aliases.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
        let opt = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        out.push(Outlet { name, aliases, channels, region: opt(raw.region), parent: opt(raw.parent) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let r = parse(
            r#"
            [[outlet]]
            name = "Example Media Office"
            aliases = ["مكتب المثال", " "]
            channels = ["telegram:1000000000"]
            region = "North"

            [[outlet]]
            name = "Second"
            "#,
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].aliases, ["مكتب المثال"]);
        assert_eq!(r[0].channels[0].to_string(), "telegram:1000000000");
        assert_eq!(r[0].region.as_deref(), Some("North"));
        assert!(r[1].channels.is_empty() && r[1].parent.is_none());
    }

    #[test]
    fn refuses_bad_registries() {
        assert!(matches!(parse("[[outlet]]\nname = 3"), Err(RegistryError::Syntax(_))));
        assert!(matches!(parse("[[outlet]]\nname = \"a\"\ncolour = \"red\""), Err(RegistryError::Syntax(_))));
        let dup = parse("[[outlet]]\nname = \"a\"\n[[outlet]]\nname = \"a\"").unwrap_err();
        assert!(dup.to_string().contains("outlet 2"), "{dup}");
        let chan = parse("[[outlet]]\nname = \"a\"\nchannels = [\"telegram:1\"]\n[[outlet]]\nname = \"b\"\nchannels = [\"telegram:1\"]")
            .unwrap_err();
        assert!(chan.to_string().contains("already registered"), "{chan}");
        assert!(parse("[[outlet]]\nname = \"a\"\nchannels = [\"1000\"]").is_err());
        assert!(parse("[[outlet]]\nname = \"a\"\nchannels = [\"Telegram:1\"]").is_err());
    }
}
