//! Signal values in their canonical text forms, as banks store them:
//!
//! | type | canonical form |
//! |---|---|
//! | `pdq` | 64 lowercase hex digits (ThreatExchange layout) |
//! | `md5` | 32 lowercase hex digits |
//! | `sha256` | 64 lowercase hex digits |
//! | `vpdq` | python-threatexchange's signal: a JSON array of `"HASH,QUALITY,TIMESTAMP"` strings |
//! | `audio` | Chromaprint items as `fpcalc -raw` prints them: unsigned integers joined by commas |
//! | `text` | the text, normalized by marsad's normalizer |
//!
//! [`canonical`] validates a value given in any accepted spelling (hex in
//! either case, signed audio items, un-normalized text…) and returns the
//! canonical one, or says what is wrong.

use marsad_core::SignalType;
use marsad_hash::pdq::PdqHash;

/// Why a value is not a valid signal of its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {signal_type} value: {message}")]
pub struct ValueError {
    /// The type the value was read as.
    pub signal_type: SignalType,
    /// What is wrong.
    pub message: String,
}

fn hex_digest(text: &str, digits: usize, t: SignalType) -> Result<String, ValueError> {
    let err = |message: String| ValueError { signal_type: t, message };
    let len = text.chars().count();
    if len != digits {
        return Err(err(format!("expected {digits} hex digits, got {len} characters")));
    }
    if let Some((i, c)) = text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(err(format!("non-hex character {c:?} at position {i}")));
    }
    Ok(text.to_ascii_lowercase())
}

/// Validates `value` as a signal of type `t` and returns its canonical form.
pub fn canonical(t: SignalType, value: &str) -> Result<String, ValueError> {
    let err = |message: String| ValueError { signal_type: t, message };
    let value = value.trim();
    match t {
        SignalType::Pdq => PdqHash::from_hex(value).map(|h| h.to_hex()).map_err(|e| err(e.to_string())),
        SignalType::Md5 => hex_digest(value, 32, t),
        SignalType::Sha256 => hex_digest(value, 64, t),
        SignalType::Vpdq => {
            let features = marsad_hash::vpdq::parse_signal(value).map_err(|e| err(e.to_string()))?;
            if features.is_empty() {
                return Err(err("a video with no frame hash".to_owned()));
            }
            Ok(marsad_hash::vpdq::to_signal(&features))
        }
        SignalType::Audio => {
            let items = marsad_hash::audio::parse_raw_text(value).map_err(|e| err(e.to_string()))?;
            Ok(marsad_hash::audio::to_raw_text(&items))
        }
        SignalType::Text => {
            let n = marsad_hash::text::normalize(value);
            if n.is_empty() {
                return Err(err("the text is empty once normalized".to_owned()));
            }
            Ok(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let pdq = "AB".repeat(32);
        assert_eq!(canonical(SignalType::Pdq, &pdq).unwrap(), "ab".repeat(32));
        assert!(canonical(SignalType::Pdq, "abc").unwrap_err().to_string().contains("64 hex digits"));
        assert!(canonical(SignalType::Md5, &"g".repeat(32)).unwrap_err().to_string().contains("non-hex"));
        assert_eq!(canonical(SignalType::Sha256, &"0A".repeat(32)).unwrap(), "0a".repeat(32));
        assert_eq!(canonical(SignalType::Audio, "FINGERPRINT=1,-1, 3").unwrap(), "1,4294967295,3");
        assert!(canonical(SignalType::Audio, "1,x").is_err());
        assert_eq!(canonical(SignalType::Text, " عَاجِل!! ").unwrap(), "عاجل");
        assert!(canonical(SignalType::Text, "  ...  ").is_err());
        let v = format!("[\"{}\", \"{},50,1.0\"]", format_args!("{},100,0", "f".repeat(64)), "0".repeat(64));
        assert_eq!(
            canonical(SignalType::Vpdq, &v).unwrap(),
            format!("[\"{},100,0.0\", \"{},50,1.0\"]", "f".repeat(64), "0".repeat(64))
        );
        assert!(canonical(SignalType::Vpdq, "[]").is_err());
    }
}
