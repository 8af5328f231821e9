//! vPDQ, Meta's video hash: the PDQ hashes of frames taken at a fixed
//! interval, with their quality and time. This module hashes decoded frames
//! and reads and writes the two text forms in use; decoding lives in
//! `marsad-media` (this crate does no I/O).
//!
//! As Meta's vpdq does it: frame `n` (0-based, in decoder output order) is
//! hashed when `n % frame_mod == 0`, where `frame_mod = ⌊seconds_per_hash ×
//! fps⌋` (at least 1, so 0 seconds means every frame); its luma is the C++
//! float32 luma ([`crate::pdq::luma_f32`]) and its timestamp is `n / fps`
//! computed in float32.
//!
//! Text forms:
//! - the C++ tool's lines, `FRAME_NUMBER,QUALITY,HASH,TIMESTAMP` with the
//!   timestamp to three decimals ([`VpdqFeature::to_line`]);
//! - the signal string python-threatexchange and HMA store in banks: a JSON
//!   array of `"HASH,QUALITY,TIMESTAMP"` strings, the timestamp formatted as
//!   Python's `f"{t:.3}"` (three significant digits) ([`to_signal`]).
//!
//! ```
//! use marsad_hash::vpdq::{frame_mod, parse_signal, to_signal, VpdqFeature};
//! use marsad_hash::pdq::PdqHash;
//! assert_eq!(frame_mod(1.0, 29.97), 29);
//! assert_eq!(frame_mod(0.0, 30.0), 1);
//! let f = VpdqFeature { frame_number: 30, quality: 100, hash: PdqHash::ZERO, timestamp: 1.0 };
//! let s = to_signal(&[f]);
//! assert_eq!(s, format!("[\"{},100,1.0\"]", "0".repeat(64)));
//! assert_eq!(parse_signal(&s).unwrap()[0].quality, 100);
//! ```

use std::fmt::Write as _;

use crate::pdq::{self, PdqHash};

/// One hashed frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpdqFeature {
    /// 0-based index of the frame in decoder output order (0 when the text
    /// form does not carry it).
    pub frame_number: u32,
    /// PDQ quality, 0..=100.
    pub quality: u8,
    /// PDQ hash of the frame.
    pub hash: PdqHash,
    /// Seconds from the start: `frame_number / fps` in float32.
    pub timestamp: f64,
}

/// Every how many frames one is hashed: `⌊seconds_per_hash × fps⌋`, at
/// least 1 (the reference truncates toward zero).
pub fn frame_mod(seconds_per_hash: f64, fps: f64) -> u32 {
    let m = seconds_per_hash * fps;
    if m.is_finite() && m >= 1.0 { m.min(f64::from(u32::MAX)) as u32 } else { 1 }
}

/// The timestamp of frame `n` at `fps`, as the reference computes it
/// (float32 division).
pub fn timestamp(frame_number: u32, fps: f64) -> f64 {
    f64::from(frame_number as f32 / fps as f32)
}

/// Hashes one decoded frame (interleaved RGB, `width * height * 3` bytes)
/// with the float32 luma of Meta's C++ code. `luma` is a scratch buffer,
/// reused between frames.
///
/// # Panics
/// If `rgb.len() != width * height * 3`.
pub fn hash_frame(width: usize, height: usize, rgb: &[u8], luma: &mut Vec<f32>) -> pdq::PdqOutput {
    luma.resize(width * height, 0.0);
    pdq::fill_luma_f32(rgb, luma);
    pdq::hash_luma(width, height, luma)
}

impl VpdqFeature {
    /// The C++ tool's line: `FRAME_NUMBER,QUALITY,HASH,TIMESTAMP` (three
    /// decimals).
    pub fn to_line(&self) -> String {
        format!("{},{},{},{:.3}", self.frame_number, self.quality, self.hash, self.timestamp)
    }
}

/// Why vPDQ text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VpdqParseError {
    /// Not a JSON array of strings.
    #[error("vpdq signal must be a JSON array of \"HASH,QUALITY,TIMESTAMP\" strings: {0}")]
    NotJson(String),
    /// A feature string or line is malformed.
    #[error("vpdq feature {index}: {message}")]
    Feature {
        /// 0-based position of the feature.
        index: usize,
        /// What is wrong.
        message: String,
    },
}

/// The python-threatexchange signal string of features: a JSON array of
/// `"HASH,QUALITY,TIMESTAMP"` strings, `json.dumps` spacing (`", "` between
/// items), the timestamp as Python's `f"{t:.3}"`.
pub fn to_signal(features: &[VpdqFeature]) -> String {
    let mut s = String::with_capacity(2 + features.len() * 78);
    s.push('[');
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "\"{},{},{}\"", f.hash, f.quality, python_format_3(f.timestamp));
        // Neither a hex hash, a number nor a formatted float needs escaping.
    }
    s.push(']');
    s
}

/// Parses a python-threatexchange vPDQ signal string. Frame numbers are not
/// in that form: they are set to the feature's position.
pub fn parse_signal(text: &str) -> Result<Vec<VpdqFeature>, VpdqParseError> {
    let text = text.trim();
    let items: Vec<String> = if text.is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(text).map_err(|e| VpdqParseError::NotJson(e.to_string()))?
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let err = |message: String| VpdqParseError::Feature { index, message };
            let parts: Vec<&str> = item.split(',').collect();
            let [hash, quality, ts] = parts[..] else {
                return Err(err(format!("expected HASH,QUALITY,TIMESTAMP, got {} fields", parts.len())));
            };
            Ok(VpdqFeature {
                frame_number: index as u32,
                hash: PdqHash::from_hex(hash).map_err(|e| err(e.to_string()))?,
                quality: parse_quality(quality).map_err(err)?,
                timestamp: parse_timestamp(ts).map_err(err)?,
            })
        })
        .collect()
}

/// Parses the C++ tool's lines (`FRAME_NUMBER,QUALITY,HASH,TIMESTAMP`; blank
/// lines skipped).
pub fn parse_lines(text: &str) -> Result<Vec<VpdqFeature>, VpdqParseError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            let err = |message: String| VpdqParseError::Feature { index, message };
            let parts: Vec<&str> = line.trim().split(',').collect();
            let [frame, quality, hash, ts, ..] = parts[..] else {
                return Err(err(format!(
                    "expected FRAME_NUMBER,QUALITY,HASH,TIMESTAMP, got {} fields",
                    parts.len()
                )));
            };
            Ok(VpdqFeature {
                frame_number: frame.trim().parse().map_err(|_| err(format!("bad frame number {frame:?}")))?,
                quality: parse_quality(quality).map_err(err)?,
                hash: PdqHash::from_hex(hash.trim()).map_err(|e| err(e.to_string()))?,
                timestamp: parse_timestamp(ts).map_err(err)?,
            })
        })
        .collect()
}

fn parse_quality(text: &str) -> Result<u8, String> {
    match text.trim().parse::<i64>() {
        Ok(q) if (0..=100).contains(&q) => Ok(q as u8),
        _ => Err(format!("quality must be an integer 0-100, got {text:?}")),
    }
}

fn parse_timestamp(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!("timestamp must be a non-negative number, got {text:?}")),
    }
}

/// Formats `x` as Python's `format(x, ".3")`: three significant digits,
/// like `g` except that a fixed-point result keeps at least one digit after
/// the point, and exponent notation when the decimal exponent is below -4
/// or at least 2 (so `100.0` is `1e+02`, `12.345` is `12.3`, `1.0` is `1.0`).
pub fn python_format_3(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".to_owned()
        } else if x > 0.0 {
            "inf".to_owned()
        } else {
            "-inf".to_owned()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0".to_owned() } else { "0.0".to_owned() };
    }
    const P: i32 = 3;
    // The exponent after rounding to P significant digits.
    let sci = format!("{:.*e}", (P - 1) as usize, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..P - 1).contains(&exp) {
        let fixed = format!("{:.*}", (P - 1 - exp) as usize, x);
        let mut s = if fixed.contains('.') { fixed.trim_end_matches('0').to_owned() } else { fixed };
        if s.ends_with('.') {
            s.push('0');
        } else if !s.contains('.') {
            s.push_str(".0");
        }
        s
    } else {
        let m = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_format_matches_python() {
        // Values and outputs from CPython 3.11: format(x, ".3").
        for (x, want) in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.033_333_335_071_802_14, "0.0333"),
            (0.968, "0.968"),
            (10.5, "10.5"),
            (12.345, "12.3"),
            (99.99, "1e+02"),
            (100.0, "1e+02"),
            (101.0, "1.01e+02"),
            (1234.0, "1.23e+03"),
            (0.000123, "0.000123"),
            (0.00001234, "1.23e-05"),
            (20.0, "20.0"),
            (99.9, "99.9"),
            (2.5, "2.5"),
        ] {
            assert_eq!(python_format_3(x), want, "format({x}, '.3')");
        }
    }

    #[test]
    fn frame_selection_follows_the_reference() {
        assert_eq!(frame_mod(1.0, 30.0), 30);
        assert_eq!(frame_mod(1.0, 30000.0 / 1001.0), 29);
        assert_eq!(frame_mod(0.0, 25.0), 1);
        assert_eq!(frame_mod(1.0, 0.5), 1);
        assert_eq!(frame_mod(2.5, 24.0), 60);
        assert_eq!(timestamp(1, 30.0), f64::from(1f32 / 30f32));
    }

    #[test]
    fn text_forms_round_trip() {
        let h = PdqHash::from_hex(&"f0".repeat(32)).unwrap();
        let feats = vec![
            VpdqFeature { frame_number: 0, quality: 100, hash: h, timestamp: 0.0 },
            VpdqFeature { frame_number: 1, quality: 49, hash: PdqHash::ZERO, timestamp: timestamp(1, 30.0) },
        ];
        let s = to_signal(&feats);
        assert_eq!(s, format!("[\"{h},100,0.0\", \"{},49,0.0333\"]", PdqHash::ZERO));
        let back = parse_signal(&s).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[1].quality, back[1].hash, back[1].timestamp), (49, PdqHash::ZERO, 0.0333));
        let lines: String = feats.iter().map(|f| f.to_line() + "\n").collect();
        assert_eq!(lines.lines().nth(1), Some(format!("1,49,{},0.033", PdqHash::ZERO).as_str()));
        assert_eq!(parse_lines(&lines).unwrap()[0], feats[0]);
        assert!(parse_signal("[\"abc,1,0\"]").is_err());
        assert!(parse_signal("{}").is_err());
        assert!(parse_signal(&format!("[\"{h},101,0\"]")).is_err());
        assert!(parse_signal(&format!("[\"{h},100,-1\"]")).is_err());
        assert_eq!(parse_signal("[]").unwrap(), vec![]);
    }
}
