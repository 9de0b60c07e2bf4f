//! A calendar date as Jira's date fields take it (`duedate`: `YYYY-MM-DD`).

use serde::{Serialize, Serializer};
use std::fmt;

/// A calendar date in the proleptic Gregorian calendar, years 1970 to
/// 9999, written `YYYY-MM-DD` (the shape of `duedate`). Made from a count
/// of days since 1970-01-01, so no clock is read here.
///
/// ```
/// use jira_model::Date;
/// let d = Date::from_unix_days(20_454).unwrap();
/// assert_eq!(d.to_string(), "2026-01-01");
/// assert_eq!(d.plus_days(7).unwrap().to_string(), "2026-01-08");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
    days: u32,
}

/// Days since 1970-01-01 of the last date written with four digits.
const MAX_DAYS: u32 = 2_932_896; // 9999-12-31

impl Date {
    /// The date `days` after 1970-01-01; `None` past 9999-12-31.
    pub fn from_unix_days(days: u32) -> Option<Self> {
        if days > MAX_DAYS {
            return None;
        }
        // Howard Hinnant's civil_from_days, for non-negative day counts.
        let z = u64::from(days) + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        Some(Self {
            year: u16::try_from(year).ok()?,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
            days,
        })
    }

    /// The date (UTC) of a time given in milliseconds since the Unix epoch;
    /// `None` before 1970 or past 9999.
    pub fn from_unix_ms(ms: u64) -> Option<Self> {
        Self::from_unix_days(u32::try_from(ms / 86_400_000).ok()?)
    }

    /// This date `n` days later; `None` past 9999-12-31.
    pub fn plus_days(self, n: u32) -> Option<Self> {
        Self::from_unix_days(self.days.checked_add(n)?)
    }

    /// Days since 1970-01-01.
    pub fn unix_days(self) -> u32 {
        self.days
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let d = |n| Date::from_unix_days(n).unwrap().to_string();
        assert_eq!(d(0), "1970-01-01");
        assert_eq!(d(59), "1970-03-01");
        assert_eq!(d(11_016), "2000-02-29");
        assert_eq!(d(19_782), "2024-02-29");
        assert_eq!(d(MAX_DAYS), "9999-12-31");
        assert!(Date::from_unix_days(MAX_DAYS + 1).is_none());
        assert_eq!(
            Date::from_unix_ms(1_767_225_600_000 + 86_399_999)
                .unwrap()
                .to_string(),
            "2026-01-01"
        );
        assert_eq!(
            serde_json::to_value(Date::from_unix_days(0).unwrap()).unwrap(),
            "1970-01-01"
        );
    }

    #[test]
    fn days_round_trip_and_order() {
        let mut last = String::new();
        for n in (0..MAX_DAYS).step_by(997) {
            let s = Date::from_unix_days(n).unwrap().to_string();
            assert!(s > last, "{s} after {last}");
            last = s;
        }
    }
}
