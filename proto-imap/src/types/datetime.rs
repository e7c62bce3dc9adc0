//! Calendar dates of SEARCH (`1-Feb-1994`) and the date-time of APPEND and
//! INTERNALDATE (`"01-Feb-1994 12:34:56 +0100"`). Plain validated values: the
//! crate has no clock and no time library; the session converts.

/// The month names of the wire format.
pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// `None` unless the date exists (years 1-9999; February 29 only in leap
    /// years).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Self { year, month, day })
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1-12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1-31.
    pub fn day(self) -> u8 {
        self.day
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A date and time with the sender's UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    offset_minutes: i16,
}

impl DateTime {
    /// `None` unless the time is valid (a leap second `60` is allowed) and the
    /// offset is within +/-99:59, what the wire format can express.
    pub fn new(
        date: Date,
        (hour, minute, second): (u8, u8, u8),
        offset_minutes: i16,
    ) -> Option<Self> {
        let valid =
            hour < 24 && minute < 60 && second <= 60 && offset_minutes.unsigned_abs() < 100 * 60;
        valid.then_some(Self {
            date,
            hour,
            minute,
            second,
            offset_minutes,
        })
    }

    /// The date.
    pub fn date(self) -> Date {
        self.date
    }

    /// Hour, minute and second.
    pub fn time(self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    /// Offset from UTC in minutes (`+0100` is 60).
    pub fn offset_minutes(self) -> i16 {
        self.offset_minutes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_calendar() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(2023, 4, 31).is_none());
        assert!(Date::new(0, 1, 1).is_none());
        let d = Date::new(1994, 2, 1).unwrap();
        assert!(DateTime::new(d, (23, 59, 60), -(99 * 60 + 59)).is_some());
        assert!(DateTime::new(d, (24, 0, 0), 0).is_none());
        assert!(DateTime::new(d, (0, 0, 0), 100 * 60).is_none());
    }
}
