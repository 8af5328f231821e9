use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// An instant in UTC with microsecond precision (the precision PostgreSQL's
/// `timestamptz` keeps), stored as microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtcTime(i64);

/// Why a time could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not an RFC 3339 date-time with an offset (`2024-01-31T12:00:00Z`).
    #[error("invalid RFC 3339 timestamp {0:?} (expected e.g. 2024-01-31T12:00:00Z)")]
    Rfc3339(String),
    /// Not a local date-time in the form `2024-01-31T12:00:00`.
    #[error("invalid date-time {0:?} (expected e.g. 2024-01-31T12:00:00)")]
    Naive(String),
    /// Not a decimal number of seconds since the Unix epoch.
    #[error("invalid Unix time {0:?} (expected decimal seconds)")]
    Unix(String),
    /// Outside the range marsad stores (years 1 to 9999).
    #[error("time {0} is out of range")]
    OutOfRange(String),
}

/// Seconds since the epoch that fit years 0001..=9999.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

impl UtcTime {
    /// The instant `secs` seconds after the Unix epoch. Saturates at the
    /// supported range (years 1 to 9999).
    pub fn from_unix_seconds(secs: i64) -> Self {
        UtcTime(secs.clamp(MIN_SECONDS, MAX_SECONDS) * 1_000_000)
    }

    /// The instant `micros` microseconds after the Unix epoch, if in range.
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        let secs = micros.div_euclid(1_000_000);
        (MIN_SECONDS..=MAX_SECONDS).contains(&secs).then_some(UtcTime(micros))
    }

    /// The instant `micros` microseconds after the Unix epoch, clamped to
    /// the supported range (for times computed from stored ones, such as
    /// the start of a calendar bucket, which stay in range in practice).
    pub fn saturating_from_unix_micros(micros: i64) -> Self {
        UtcTime(micros.clamp(MIN_SECONDS * 1_000_000, MAX_SECONDS * 1_000_000 + 999_999))
    }

    /// Parses decimal seconds since the epoch, as Telegram exports write
    /// `date_unixtime` (`"1510142400"`).
    pub fn parse_unix_seconds(s: &str) -> Result<Self, TimeError> {
        let secs: i64 = s.trim().parse().map_err(|_| TimeError::Unix(s.to_owned()))?;
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&secs) {
            return Err(TimeError::OutOfRange(s.to_owned()));
        }
        Ok(UtcTime(secs * 1_000_000))
    }

    /// Parses an RFC 3339 date-time with an offset and converts it to UTC.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
        let t = DateTime::parse_from_rfc3339(s.trim()).map_err(|_| TimeError::Rfc3339(s.to_owned()))?;
        Self::from_unix_micros(t.timestamp_micros()).ok_or_else(|| TimeError::OutOfRange(s.to_owned()))
    }

    /// Parses a date-time without an offset (`2017-11-08T12:00:00`), taking it
    /// as UTC. Telegram's `date` field is in the exporting computer's local
    /// time; it is used only when `date_unixtime` is absent.
    pub fn parse_naive_as_utc(s: &str) -> Result<Self, TimeError> {
        let t = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f")
            .map_err(|_| TimeError::Naive(s.to_owned()))?;
        Self::from_unix_micros(t.and_utc().timestamp_micros())
            .ok_or_else(|| TimeError::OutOfRange(s.to_owned()))
    }

    /// The current time.
    pub fn now() -> Self {
        UtcTime(Utc::now().timestamp_micros())
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// RFC 3339 in UTC with a `Z`: whole seconds when there is no fraction,
    /// else as many fractional digits as needed (3 or 6).
    pub fn to_rfc3339(self) -> String {
        let dt = DateTime::<Utc>::from_timestamp_micros(self.0).unwrap_or_default();
        dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl fmt::Display for UtcTime {
    /// The RFC 3339 text, padded to a width when one is given (`{:<24}`),
    /// as a string would be.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.to_rfc3339())
    }
}

/// As its RFC 3339 text ([`UtcTime::to_rfc3339`]): the one place a time
/// becomes text in JSON output.
impl serde::Serialize for UtcTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

/// From RFC 3339 text ([`UtcTime::parse_rfc3339`]).
impl<'de> serde::Deserialize<'de> for UtcTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        UtcTime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_converts_to_utc() {
        let check = |input: &str, expected: &str| {
            assert_eq!(UtcTime::parse_rfc3339(input).unwrap().to_rfc3339(), expected, "{input}");
        };
        check("2017-11-08T12:00:00Z", "2017-11-08T12:00:00Z");
        check("2017-11-08T12:00:00+03:00", "2017-11-08T09:00:00Z");
        check("2017-11-08T12:00:00.250-01:00", "2017-11-08T13:00:00.250Z");
        check("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn bad_times_are_errors() {
        assert!(UtcTime::parse_rfc3339("2017-11-08 12:00").is_err());
        assert!(UtcTime::parse_rfc3339("2017-11-08T12:00:00").is_err());
        assert!(UtcTime::parse_unix_seconds("12a").is_err());
        assert!(UtcTime::parse_unix_seconds("99999999999999").is_err());
        assert!(UtcTime::parse_naive_as_utc("yesterday").is_err());
    }

    #[test]
    fn unix_and_naive() {
        let t = UtcTime::parse_unix_seconds("1510142400").unwrap();
        assert_eq!(t.to_rfc3339(), "2017-11-08T12:00:00Z");
        assert_eq!(UtcTime::parse_naive_as_utc("2017-11-08T12:00:00").unwrap(), t);
        assert_eq!(UtcTime::from_unix_seconds(-1).unix_seconds(), -1);
    }

    #[test]
    fn json_is_the_rfc3339_text() {
        let check = |micros: i64, expected: &str| {
            let t = UtcTime::from_unix_micros(micros).unwrap();
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{expected}\""));
            assert_eq!(serde_json::from_str::<UtcTime>(&json).unwrap(), t);
        };
        check(1_706_702_400_000_000, "2024-01-31T12:00:00Z");
        check(1_706_702_400_250_000, "2024-01-31T12:00:00.250Z");
        check(1_706_702_400_000_001, "2024-01-31T12:00:00.000001Z");
        check(-500_000, "1969-12-31T23:59:59.500Z");
        assert!(serde_json::from_str::<UtcTime>("\"2024-01-31\"").is_err());
        let t = UtcTime::from_unix_seconds(0);
        assert_eq!(format!("[{t:<22}]"), "[1970-01-01T00:00:00Z  ]");
        assert_eq!(
            UtcTime::saturating_from_unix_micros(i64::MAX).to_rfc3339(),
            "9999-12-31T23:59:59.999999Z"
        );
        assert_eq!(UtcTime::saturating_from_unix_micros(i64::MIN).to_rfc3339(), "0001-01-01T00:00:00Z");
    }
}
