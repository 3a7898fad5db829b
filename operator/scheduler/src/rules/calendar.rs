//! Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01):
//! civil dates, weekdays, ordinal days and ISO 8601 week dates. Plain integer math so
//! any year Pacemaker accepts (0 to beyond 9999) works without a calendar library.

/// Days since 1970-01-01 of a civil date (month 1-12, day 1-31, not validated).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year to start in March so the leap day is the last day of the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(crate) fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub(crate) fn days_in_year(year: i64) -> u32 {
    if is_leap(year) { 366 } else { 365 }
}

/// ISO weekday of a day number: 1 = Monday … 7 = Sunday.
pub(crate) fn weekday(days: i64) -> u32 {
    // 1970-01-01 was a Thursday.
    ((days + 3).rem_euclid(7) + 1) as u32
}

/// Day of the year, 1-based.
pub(crate) fn yearday(days: i64) -> u32 {
    let (y, _, _) = civil_from_days(days);
    (days - days_from_civil(y, 1, 1) + 1) as u32
}

/// Day number of the Monday of ISO week 1 of `weekyear`.
fn week_one_monday(weekyear: i64) -> i64 {
    let jan4 = days_from_civil(weekyear, 1, 4);
    jan4 - i64::from(weekday(jan4) - 1)
}

/// ISO week date (weekyear, week 1-53) of a day number.
pub(crate) fn iso_week(days: i64) -> (i64, u32) {
    // The week belongs to the year its Thursday falls in.
    let thursday = days - i64::from(weekday(days)) + 4;
    let (weekyear, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(weekyear, 1, 1)) / 7 + 1;
    (weekyear, week as u32)
}

/// Number of ISO weeks (52 or 53) in `weekyear`.
pub(crate) fn weeks_in_year(weekyear: i64) -> u32 {
    ((week_one_monday(weekyear + 1) - week_one_monday(weekyear)) / 7) as u32
}

/// Day number of an ISO week date (week may be 0, meaning the week before week 1,
/// as Pacemaker accepts).
pub(crate) fn days_from_iso_week(weekyear: i64, week: u32, weekday: u32) -> i64 {
    week_one_monday(weekyear) + (i64::from(week) - 1) * 7 + i64::from(weekday) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_four_centuries() {
        let start = days_from_civil(1899, 12, 25);
        for d in start..start + 146_097 + 10 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
            assert!(dd >= 1 && dd <= days_in_month(y, m));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2005, 1, 20), 12_803);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
    }

    #[test]
    fn weekdays_and_weeks() {
        assert_eq!(weekday(days_from_civil(2005, 1, 20)), 4); // Thursday
        assert_eq!(weekday(days_from_civil(2005, 1, 2)), 7); // Sunday
        assert_eq!(iso_week(days_from_civil(2005, 1, 1)), (2004, 53));
        assert_eq!(iso_week(days_from_civil(2008, 12, 29)), (2009, 1));
        assert_eq!(iso_week(days_from_civil(2005, 1, 20)), (2005, 3));
        assert_eq!(weeks_in_year(2004), 53);
        assert_eq!(weeks_in_year(2005), 52);
        assert_eq!(weeks_in_year(2020), 53);
        assert_eq!(weeks_in_year(2026), 53);
        assert_eq!(days_from_iso_week(2005, 3, 4), days_from_civil(2005, 1, 20));
        assert_eq!(
            days_from_iso_week(2005, 0, 1),
            days_from_civil(2004, 12, 27)
        );
        assert_eq!(yearday(days_from_civil(2004, 12, 31)), 366);
    }
}
