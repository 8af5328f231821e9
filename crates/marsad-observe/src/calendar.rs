//! Time buckets: hours, days, ISO weeks (from Monday), calendar months, and
//! months of the Umm al-Qura Hijri calendar, all in UTC.
//!
//! The Hijri months come from ICU4X's `icu_calendar` (the Umm al-Qura rules
//! published by KACST, as Saudi Arabia uses them), not from tables of our
//! own. A Hijri month starts at 00:00 UTC of the Gregorian day on which the
//! calendar starts it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use icu_calendar::Date;
use icu_calendar::cal::Hijri;

/// A bucket size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// An hour.
    Hour,
    /// A day.
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// A month of the Umm al-Qura Hijri calendar.
    HijriMonth,
    /// `n` calendar years, starting on 1 January of a year divisible by `n`
    /// (`Years(1)` is a year, `Years(10)` a decade…); reports use the
    /// longer ones to keep a chart of centuries to a readable number of
    /// marks.
    Years(u16),
}

impl Bucket {
    /// Parses `hour`, `day`, `week`, `month`, `hijri-month` or `year`.
    pub fn parse(s: &str) -> Option<Bucket> {
        Some(match s {
            "hour" => Bucket::Hour,
            "day" => Bucket::Day,
            "week" => Bucket::Week,
            "month" => Bucket::Month,
            "hijri-month" => Bucket::HijriMonth,
            "year" => Bucket::Years(1),
            _ => return None,
        })
    }
}

const MICROS: i64 = 1_000_000;

fn datetime(micros: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default()
}

fn micros_of_date(d: NaiveDate) -> i64 {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).timestamp_micros()
}

/// The Umm al-Qura year and month of a Gregorian date.
pub fn hijri_month_of(d: NaiveDate) -> Option<(i32, u8)> {
    let iso = Date::try_new_iso(d.year(), d.month() as u8, d.day() as u8).ok()?;
    let h = iso.to_calendar(Hijri::new_umm_al_qura());
    Some((h.year().extended_year(), h.month().ordinal))
}

/// The Gregorian date on which an Umm al-Qura month starts.
pub fn hijri_month_start(year: i32, month: u8) -> Option<NaiveDate> {
    let h = Date::try_new_hijri_with_calendar(year, month, 1, Hijri::new_umm_al_qura()).ok()?;
    let iso = h.to_calendar(icu_calendar::Iso);
    NaiveDate::from_ymd_opt(
        iso.year().extended_year(),
        u32::from(iso.month().ordinal),
        u32::from(iso.day_of_month().0),
    )
}

impl Bucket {
    /// The start (microseconds) of the bucket holding `micros`.
    pub fn start(self, micros: i64) -> i64 {
        let t = datetime(micros);
        match self {
            Bucket::Hour => t
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .map_or(micros, |t| t.timestamp_micros()),
            Bucket::Day => micros_of_date(t.date_naive()),
            Bucket::Week => {
                let d = t.date_naive();
                micros_of_date(d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
            }
            Bucket::Month => micros_of_date(t.date_naive().with_day(1).unwrap_or(t.date_naive())),
            Bucket::Years(n) => {
                let n = i32::from(n.max(1));
                let y = t.year().div_euclid(n) * n;
                NaiveDate::from_ymd_opt(y, 1, 1).map_or(micros, micros_of_date)
            }
            Bucket::HijriMonth => {
                let d = t.date_naive();
                hijri_month_of(d)
                    .and_then(|(y, m)| hijri_month_start(y, m))
                    .map_or_else(|| micros_of_date(d), micros_of_date)
            }
        }
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(self, start: i64) -> i64 {
        match self {
            Bucket::Hour => start + 3_600 * MICROS,
            Bucket::Day => start + 86_400 * MICROS,
            Bucket::Week => start + 7 * 86_400 * MICROS,
            Bucket::Month => {
                let d = datetime(start).date_naive();
                let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
                NaiveDate::from_ymd_opt(y, m, 1).map_or(start + 31 * 86_400 * MICROS, micros_of_date)
            }
            Bucket::Years(n) => {
                let y = datetime(start).year() + i32::from(n.max(1));
                NaiveDate::from_ymd_opt(y, 1, 1)
                    .map_or(start + i64::from(n.max(1)) * 366 * 86_400 * MICROS, micros_of_date)
            }
            Bucket::HijriMonth => {
                // 29 or 30 days later is the next month's first day: find
                // the first day at least 29 days on whose month differs.
                let d = datetime(start).date_naive();
                let this = hijri_month_of(d);
                let mut n = d + Duration::days(29);
                while hijri_month_of(n) == this && n < d + Duration::days(31) {
                    n += Duration::days(1);
                }
                micros_of_date(n)
            }
        }
    }

    /// A label for the bucket starting at `start`: the RFC 3339 start, and
    /// for Hijri months also `YYYY-MM AH`.
    pub fn label(self, start: i64) -> Option<String> {
        match self {
            Bucket::HijriMonth => {
                hijri_month_of(datetime(start).date_naive()).map(|(y, m)| format!("{y}-{m:02} AH"))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_decades_and_centuries_start_on_the_first_of_january() {
        let t = at("2017-06-15T10:00:00Z");
        assert_eq!(Bucket::Years(1).start(t), at("2017-01-01T00:00:00Z"));
        assert_eq!(Bucket::Years(10).start(t), at("2010-01-01T00:00:00Z"));
        assert_eq!(Bucket::Years(100).start(t), at("2000-01-01T00:00:00Z"));
        assert_eq!(Bucket::Years(1).next(at("2017-01-01T00:00:00Z")), at("2018-01-01T00:00:00Z"));
        assert_eq!(Bucket::Years(1000).next(at("1000-01-01T00:00:00Z")), at("2000-01-01T00:00:00Z"));
        assert_eq!(Bucket::Years(1000).start(at("0001-03-01T00:00:00Z")), at("0000-01-01T00:00:00Z"));
        assert_eq!(Bucket::parse("year"), Some(Bucket::Years(1)));
    }

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn gregorian_buckets() {
        let t = at("2024-03-13T17:45:12Z"); // a Wednesday
        assert_eq!(Bucket::Hour.start(t), at("2024-03-13T17:00:00Z"));
        assert_eq!(Bucket::Day.start(t), at("2024-03-13T00:00:00Z"));
        assert_eq!(Bucket::Week.start(t), at("2024-03-11T00:00:00Z"));
        assert_eq!(Bucket::Month.start(t), at("2024-03-01T00:00:00Z"));
        assert_eq!(Bucket::Month.next(at("2024-12-01T00:00:00Z")), at("2025-01-01T00:00:00Z"));
        assert_eq!(Bucket::Week.next(at("2024-03-11T00:00:00Z")), at("2024-03-18T00:00:00Z"));
    }

    #[test]
    fn umm_al_qura_months() {
        // 1 Ramadan 1445 AH was Monday 11 March 2024 (Umm al-Qura); 1 Shawwal
        // 1445 was Wednesday 10 April 2024; 1 Muharram 1446 was 7 July 2024.
        let ramadan = NaiveDate::from_ymd_opt(2024, 3, 11).unwrap();
        assert_eq!(hijri_month_of(ramadan), Some((1445, 9)));
        assert_eq!(hijri_month_start(1445, 9), Some(ramadan));
        assert_eq!(hijri_month_start(1445, 10), NaiveDate::from_ymd_opt(2024, 4, 10));
        assert_eq!(hijri_month_start(1446, 1), NaiveDate::from_ymd_opt(2024, 7, 7));
        let t = at("2024-03-20T09:00:00Z");
        assert_eq!(Bucket::HijriMonth.start(t), at("2024-03-11T00:00:00Z"));
        assert_eq!(Bucket::HijriMonth.next(at("2024-03-11T00:00:00Z")), at("2024-04-10T00:00:00Z"));
        assert_eq!(Bucket::HijriMonth.label(at("2024-03-11T00:00:00Z")).as_deref(), Some("1445-09 AH"));
        // 29 February 2024 is 19 Sha'ban 1445.
        assert_eq!(hijri_month_of(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()), Some((1445, 8)));
    }
}
