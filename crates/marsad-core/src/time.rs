use std::fmt;

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, SecondsFormat, TimeZone, Utc};

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
    /// A local time that does not exist in its zone (skipped by a
    /// daylight-saving change).
    #[error("local time {0:?} does not exist in {1} (skipped by a daylight-saving change)")]
    Skipped(String, String),
    /// Not a zone marsad knows.
    #[error(
        "unknown time zone {0:?} (expected an IANA name such as Asia/Baghdad, UTC, or an offset such as +03:00)"
    )]
    Zone(String),
}

/// The zone in which times without an offset were written (Telegram
/// Desktop writes `date` in the exporting computer's local time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LocalZone {
    /// UTC.
    #[default]
    Utc,
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
    /// An IANA zone, with its daylight-saving rules (the tz database
    /// compiled into marsad).
    Named(chrono_tz::Tz),
}

impl std::str::FromStr for LocalZone {
    type Err = TimeError;

    /// `UTC` (or `Z`), an offset (`+03:00`, `-0430`, `+03`), or an IANA
    /// name (`Asia/Baghdad`).
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(LocalZone::Utc);
        }
        if let Some(sign) = t.strip_prefix(['+', '-']).map(|rest| (t.starts_with('-'), rest)) {
            let (negative, rest) = sign;
            let digits: String = rest.chars().filter(|c| *c != ':').collect();
            let ok = rest.chars().all(|c| c.is_ascii_digit() || c == ':')
                && matches!(digits.len(), 2 | 4)
                && rest.matches(':').count() <= 1;
            let parsed = ok
                .then(|| {
                    let hours: i32 = digits[..2].parse().ok()?;
                    let minutes: i32 = if digits.len() == 4 { digits[2..].parse().ok()? } else { 0 };
                    (hours <= 23 && minutes <= 59).then_some(hours * 3600 + minutes * 60)
                })
                .flatten()
                .and_then(|secs| FixedOffset::east_opt(if negative { -secs } else { secs }));
            return parsed.map(LocalZone::Fixed).ok_or_else(|| TimeError::Zone(s.to_owned()));
        }
        t.parse::<chrono_tz::Tz>().map(LocalZone::Named).map_err(|_| TimeError::Zone(s.to_owned()))
    }
}

impl fmt::Display for LocalZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalZone::Utc => f.write_str("UTC"),
            LocalZone::Fixed(o) => write!(f, "{o}"),
            LocalZone::Named(tz) => f.write_str(tz.name()),
        }
    }
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

    /// Parses a date-time as Telegram Desktop exports write `date`: with an
    /// offset or `Z` (`2017-01-01T06:20:09.248Z`, `…+03:00`), converted to
    /// UTC; without one (`2017-11-08T12:00:00`, a fraction allowed), taken
    /// in `zone`. A local time that occurs twice (the hour a daylight-saving
    /// change repeats) is the earlier instant; one that never occurs is an
    /// error.
    pub fn parse_export_date(s: &str, zone: LocalZone) -> Result<Self, TimeError> {
        let t = s.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
            return Self::from_unix_micros(dt.timestamp_micros())
                .ok_or_else(|| TimeError::OutOfRange(s.to_owned()));
        }
        let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
            .map_err(|_| TimeError::Naive(s.to_owned()))?;
        let micros = match zone {
            LocalZone::Utc => Some(naive.and_utc().timestamp_micros()),
            LocalZone::Fixed(o) => local_micros(o.from_local_datetime(&naive)),
            LocalZone::Named(tz) => local_micros(tz.from_local_datetime(&naive)),
        }
        .ok_or_else(|| TimeError::Skipped(s.to_owned(), zone.to_string()))?;
        Self::from_unix_micros(micros).ok_or_else(|| TimeError::OutOfRange(s.to_owned()))
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

/// The instant of a local time: the earlier of two, none in a gap.
fn local_micros<Tz: TimeZone>(r: LocalResult<DateTime<Tz>>) -> Option<i64> {
    r.earliest().map(|dt| dt.timestamp_micros())
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

    #[test]
    fn export_dates_with_zones_and_fractions() {
        let check = |input: &str, zone: &str, expected: &str| {
            let zone: LocalZone = zone.parse().unwrap();
            let got =
                UtcTime::parse_export_date(input, zone).unwrap_or_else(|e| panic!("{input} in {zone}: {e}"));
            assert_eq!(got.to_rfc3339(), expected, "{input} in {zone}");
        };
        check("2017-01-01T06:20:09.248Z", "UTC", "2017-01-01T06:20:09.248Z");
        check("2017-01-01T06:20:09+03:00", "UTC", "2017-01-01T03:20:09Z");
        // A zone in the value wins over the export's zone.
        check("2017-01-01T06:20:09Z", "Asia/Baghdad", "2017-01-01T06:20:09Z");
        check("2017-01-01T06:20:09", "UTC", "2017-01-01T06:20:09Z");
        check("2017-01-01T06:20:09.5", "UTC", "2017-01-01T06:20:09.500Z");
        check("2017-01-01T06:20:09", "Asia/Baghdad", "2017-01-01T03:20:09Z");
        check("2017-01-01T06:20:09", "+03:00", "2017-01-01T03:20:09Z");
        check("2017-01-01T06:20:09", "-0430", "2017-01-01T10:50:09Z");
        check("2017-01-01T06:20:09", "+05", "2017-01-01T01:20:09Z");
        // Europe/Berlin: summer time (UTC+2) in July, winter (UTC+1) in January.
        check("2017-07-01T12:00:00", "Europe/Berlin", "2017-07-01T10:00:00Z");
        check("2017-01-01T12:00:00", "Europe/Berlin", "2017-01-01T11:00:00Z");
        // 02:30 happens twice on 2017-10-29 in Berlin: the earlier instant.
        check("2017-10-29T02:30:00", "Europe/Berlin", "2017-10-29T00:30:00Z");
        let berlin: LocalZone = "Europe/Berlin".parse().unwrap();
        assert!(matches!(
            UtcTime::parse_export_date("2017-03-26T02:30:00", berlin),
            Err(TimeError::Skipped(..))
        ));
        assert!(UtcTime::parse_export_date("yesterday", LocalZone::Utc).is_err());
        for bad in ["Mars/Olympus", "+25:00", "+3", "+03:00:00", "", "+0a:00"] {
            assert!(bad.parse::<LocalZone>().is_err(), "{bad}");
        }
    }
}
