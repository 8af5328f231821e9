//! HMA 1.1.7's API (`/h`, `/m`, `/c`): same paths, parameters, status
//! codes and JSON as its blueprints, over marsad's store and live index.

pub mod curation;
pub mod hashing;
pub mod matching;

use std::collections::HashMap;

use marsad_core::SignalType;
use serde_json::Value;

use crate::error::ApiError;

/// Every signal type the API knows, in the order it lists them: HMA's
/// names first (`video_md5` is the MD5 of a video's bytes, which marsad
/// stores as `md5`), then marsad's own.
pub const SIGNAL_TYPES: [(&str, SignalType); 7] = [
    ("pdq", SignalType::Pdq),
    ("video_md5", SignalType::Md5),
    ("vpdq", SignalType::Vpdq),
    ("md5", SignalType::Md5),
    ("sha256", SignalType::Sha256),
    ("audio", SignalType::Audio),
    ("text", SignalType::Text),
];

/// The marsad type of an API signal type name.
pub fn signal_type(name: &str) -> Option<SignalType> {
    SIGNAL_TYPES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The API's name of a stored signal type (`md5` entries show as HMA's
/// `video_md5`).
pub fn api_name(t: SignalType) -> &'static str {
    match t {
        SignalType::Md5 => "video_md5",
        other => other.as_str(),
    }
}

/// The content types, and the signal types each is hashed into: the
/// first ones by default (HMA's), the others when `types` asks.
pub const CONTENT_TYPES: [(&str, &[&str], &[&str]); 2] =
    [("photo", &["pdq"], &["md5", "sha256"]), ("video", &["video_md5", "vpdq"], &["md5", "sha256", "audio"])];

/// The signal types to hash content of type `content_type` into:
/// `types` (a comma-separated list) or the defaults; HMA's errors.
pub fn hash_types(content_type: &str, types: Option<&str>) -> Result<Vec<&'static str>, ApiError> {
    let Some((_, default, extra)) = CONTENT_TYPES.iter().find(|(n, ..)| *n == content_type) else {
        return Err(ApiError::bad_request(format!("no such content_type: '{content_type}'")));
    };
    let Some(types) = types else { return Ok(default.to_vec()) };
    let mut out = Vec::new();
    for name in types.split(',') {
        let name = name.trim();
        // HMA skips empty names (`types=pdq,`)
        if name.is_empty() {
            continue;
        }
        match default.iter().chain(extra.iter()).find(|n| **n == name) {
            Some(n) => {
                if !out.contains(n) {
                    out.push(*n);
                }
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "signal type '{name}' doesn't exist or is disabled"
                )));
            }
        }
    }
    if out.is_empty() {
        return Err(ApiError::bad_request("empty signal type selection"));
    }
    Ok(out)
}

/// Validates a signal as python-threatexchange's `validate_signal_str`
/// does for HMA's types (PDQ: exactly 64 lowercase hex digits; video MD5:
/// stripped and lower-cased), and as marsad's canonical forms for the
/// others. Returns the canonical value.
pub fn validate_signal(t: SignalType, name: &str, value: &str) -> Result<String, String> {
    match name {
        "pdq" => {
            if value.len() == 64 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                Ok(value.to_owned())
            } else {
                Err("invalid PDQ hash".to_owned())
            }
        }
        _ => marsad_match::values::canonical(t, value).map_err(|e| e.message),
    }
}

/// A distance as HMA prints it: `"9"` for PDQ, `"-"` for exact types,
/// `"95%[90%]"` for vPDQ (query and compared match percentages), the
/// similarity for audio and text.
pub fn distance_str(t: SignalType, distance: f64, detail: Option<&Value>) -> String {
    match t {
        SignalType::Pdq => format!("{}", distance.round() as i64),
        SignalType::Md5 | SignalType::Sha256 => "-".to_owned(),
        SignalType::Vpdq => {
            let pct = |k: &str| detail.and_then(|d| d.get(k)).and_then(Value::as_f64).unwrap_or(0.0);
            format!("{:.0}%[{:.0}%]", pct("query_match_percent"), pct("compared_match_percent"))
        }
        SignalType::Audio | SignalType::Text => format!("{:.3}", 1.0 - distance),
    }
}

/// Pydantic's boolean parsing of a query parameter, or its 422.
pub fn parse_bool(query: &HashMap<String, String>, name: &str) -> Result<Option<bool>, ApiError> {
    let Some(v) = query.get(name) else { return Ok(None) };
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Ok(Some(true)),
        "0" | "false" | "f" | "no" | "n" | "off" => Ok(Some(false)),
        _ => Err(ApiError::invalid_field(
            name,
            "bool_parsing",
            "Input should be a valid boolean, unable to interpret input",
            Value::String(v.clone()),
        )),
    }
}

/// A required query parameter, or pydantic's 422.
pub fn required<'a>(query: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    query.get(name).map(String::as_str).ok_or_else(|| {
        let input: serde_json::Map<String, Value> =
            query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        ApiError::missing(name, Value::Object(input))
    })
}

/// The bank names of a `banks` parameter.
pub fn bank_filter(query: &HashMap<String, String>) -> Option<Vec<String>> {
    query.get("banks").filter(|b| !b.is_empty()).map(|b| b.split(',').map(str::to_owned).collect())
}
