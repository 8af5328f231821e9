//! Timestamps as Telegram Desktop writes them: `date` is the exporting
//! machine's local wall-clock time without a zone, `date_unixtime` the UTC
//! seconds as a decimal string.

use std::fmt;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
/// Seconds in an hour.
pub(crate) const HOUR: i64 = 3_600;
/// Seconds in a minute.
pub(crate) const MINUTE: i64 = 60;

/// A moment, with the UTC offset of the machine that "exported" it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// Seconds since the Unix epoch (UTC).
    pub unix: i64,
    /// Offset of the exporting machine's local time from UTC, in seconds.
    pub offset: i32,
}

/// Broken-down local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Stamp {
    pub(crate) fn new(unix: i64, offset: i32) -> Stamp {
        Stamp { unix, offset }
    }

    /// Local wall-clock time.
    pub(crate) fn civil(self) -> Civil {
        civil_from_unix(self.unix + i64::from(self.offset))
    }

    /// `2024-01-01T10:00:00`, the form of `date` and `edited`.
    pub(crate) fn iso(self) -> IsoLocal {
        IsoLocal(self.civil())
    }

    /// `01-01-2024_10-00-00`, the form in media file names
    /// (`photos/photo_1@01-01-2024_10-00-00.jpg`).
    pub(crate) fn file_suffix(self) -> String {
        let c = self.civil();
        format!("{:02}-{:02}-{:04}_{:02}-{:02}-{:02}", c.day, c.month, c.year, c.hour, c.minute, c.second)
    }
}

/// Displays a [`Civil`] time as `YYYY-MM-DDTHH:MM:SS`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IsoLocal(Civil);

impl fmt::Display for IsoLocal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(f, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second)
    }
}

/// Splits Unix seconds into a proleptic Gregorian date and time of day.
///
/// Days-to-civil conversion after Howard Hinnant's `civil_from_days`
/// (public domain), valid for the whole `i64` day range we can meet.
pub(crate) fn civil_from_unix(unix: i64) -> Civil {
    let days = unix.div_euclid(DAY);
    let secs = unix.rem_euclid(DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // All narrowing casts below are of values bounded by the calendar
    // (day ≤ 31, month ≤ 12, seconds of a day < 86 400).
    Civil {
        year,
        month: month as u32,
        day: day as u32,
        hour: (secs / HOUR) as u32,
        minute: ((secs % HOUR) / MINUTE) as u32,
        second: (secs % MINUTE) as u32,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly.
mod tests {
    use super::*;

    fn check(unix: i64, offset: i32, expected: &str) {
        assert_eq!(Stamp::new(unix, offset).iso().to_string(), expected);
    }

    #[test]
    fn formats_like_telegram() {
        // Values from `date -u -d @N +%FT%T`.
        check(0, 0, "1970-01-01T00:00:00");
        check(1_704_103_200, 0, "2024-01-01T10:00:00");
        check(1_704_103_200, 3 * 3_600, "2024-01-01T13:00:00");
        check(1_709_164_799, 0, "2024-02-28T23:59:59");
        check(1_709_164_800, 0, "2024-02-29T00:00:00");
        check(1_709_251_200, 0, "2024-03-01T00:00:00");
        check(1_735_689_599, 0, "2024-12-31T23:59:59");
        check(-1, 0, "1969-12-31T23:59:59");
        check(1_704_067_200, -3_600, "2023-12-31T23:00:00");
    }

    #[test]
    fn file_suffix_is_day_first() {
        assert_eq!(Stamp::new(1_704_103_200, 0).file_suffix(), "01-01-2024_10-00-00");
    }
}
