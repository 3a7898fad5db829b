//! Date/times as Pacemaker reads them: ISO 8601 text from rule attributes
//! (`start`/`end`), `crm_simulate -t` and `execution-date` (epoch seconds) in, a
//! [`DateTime`] out — a civil date and time plus the UTC offset it was written in.
//!
//! Accepted forms (each checked against Pacemaker 2.1.5's `iso8601 -d`):
//! - calendar `2005-01-20`, compact `20050120`, ordinal `2005-020` (any digit count:
//!   `2005-40` is 9 February), week `2005-W03-4` (week 0 is the week before week 1);
//! - a time after `T` or one space: `12:34:56`, `12:34`, `12`, `123456`, `1234`; a
//!   fraction (`.5`) is ignored; `24:00:00` is midnight of the next day;
//! - an offset after the time: `Z`, or after a space `Z`, `+01:00`, `-0530`, `+01`,
//!   `+1:30`, `+01:30:15` (at most 24 hours).
//!
//! Quirks kept on purpose so rules behave exactly as under Pacemaker:
//! - a date without a time is midnight **UTC**, but a date with a time and no offset
//!   is in the *local* zone — pacer has no local zone, so the caller passes one
//!   ([`DateTime::parse_local`]); [`DateTime::parse`] uses UTC;
//! - an offset glued to the time (`12:00:00+01:00`, no space) is ignored (the time
//!   stays local); only `Z` may be glued;
//! - text after the space that is not an offset (`12:00:00 junk`) means UTC.
//!
//! Arithmetic ([`DateTime::add`]) works on the civil fields in the written offset, as
//! Pacemaker does: years keep the day of the year (2004-03-01 + 1 year = 2005-03-02),
//! months keep the day of the month clamped to the month's length
//! (2005-01-31 + 1 month = 2005-02-28); then days and seconds are added.

use std::{cmp::Ordering, fmt};

use super::calendar::{
    civil_from_days, days_from_civil, days_from_iso_week, days_in_month, days_in_year, iso_week,
    weekday, weeks_in_year, yearday,
};

/// Why a date, time or duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid ISO 8601 {what} {text:?}: {reason} (e.g. \"2005-01-20 13:00:00 +01:00\", \"2005-W03-4\", \"2005-020\", or a duration like \"P1Y2M3DT4H5M6S\")"
)]
pub struct DateError {
    pub what: &'static str,
    pub text: String,
    pub reason: String,
}

fn date_err(text: &str, reason: impl Into<String>) -> DateError {
    DateError {
        what: "date/time",
        text: text.to_string(),
        reason: reason.into(),
    }
}

const DAY: i64 = 86_400;

/// A point in time as written: civil date and time in a fixed UTC offset.
///
/// Equality and ordering compare the instant (UTC), so `12:00:00 +01:00` equals
/// `11:00:00Z`; the field accessors ([`DateTime::hour`], [`DateTime::weekday`], …)
/// give the civil values in the written offset, which is what `date_spec` matches.
///
/// ```
/// use pacer_scheduler::rules::{DateTime, Duration};
/// let t = DateTime::parse("2005-01-31 12:00:00 +02:00").unwrap();
/// assert_eq!(t.epoch(), 1_107_165_600);
/// assert_eq!((t.year(), t.month(), t.day(), t.hour()), (2005, 1, 31, 12));
/// let later = t.add(&Duration::parse("P1M").unwrap());
/// assert_eq!(later.to_string(), "2005-02-28 12:00:00 +02:00");
/// assert_eq!(DateTime::parse("2005-W03-4").unwrap(), DateTime::parse("2005-020").unwrap());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DateTime {
    /// Civil day number (days since 1970-01-01) in `offset`.
    days: i64,
    /// Civil second of the day, 0..86400, in `offset`.
    secs: u32,
    /// Seconds east of UTC.
    offset: i32,
}

impl DateTime {
    /// The instant `epoch` seconds after 1970-01-01 00:00:00 UTC, shown in UTC.
    pub fn from_epoch(epoch: i64) -> DateTime {
        DateTime::from_epoch_in(epoch, 0)
    }

    /// The instant `epoch`, shown in the zone `offset` seconds east of UTC.
    pub fn from_epoch_in(epoch: i64, offset: i32) -> DateTime {
        let local = epoch + i64::from(offset);
        DateTime {
            days: local.div_euclid(DAY),
            secs: local.rem_euclid(DAY) as u32,
            offset,
        }
    }

    /// A civil date/time; `None` when a field is out of range.
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        offset: i32,
    ) -> Option<DateTime> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        Some(DateTime {
            days: days_from_civil(year, month, day),
            secs: hour * 3600 + minute * 60 + second,
            offset,
        })
    }

    /// Parses an ISO 8601 date/time as Pacemaker does; a time without an offset is
    /// taken as UTC. See the module docs for the accepted forms.
    pub fn parse(text: &str) -> Result<DateTime, DateError> {
        DateTime::parse_local(text, 0)
    }

    /// Parses like [`DateTime::parse`], reading a time written without an offset as
    /// being `local_offset` seconds east of UTC (Pacemaker uses the host's zone there).
    pub fn parse_local(text: &str, local_offset: i32) -> Result<DateTime, DateError> {
        parse_date_time(text, local_offset)
    }

    /// Reads the CIB's `execution-date` attribute (seconds since the epoch), which is
    /// the "now" Pacemaker recorded for a saved scheduler input.
    pub fn parse_execution_date(text: &str) -> Result<DateTime, DateError> {
        text.trim()
            .parse::<i64>()
            .map(DateTime::from_epoch)
            .map_err(|e| DateError {
                what: "execution-date",
                text: text.to_string(),
                reason: format!("expected seconds since 1970-01-01 UTC ({e})"),
            })
    }

    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub fn epoch(&self) -> i64 {
        self.days * DAY + i64::from(self.secs) - i64::from(self.offset)
    }

    /// Seconds east of UTC this date/time is written in.
    pub fn offset(&self) -> i32 {
        self.offset
    }

    /// The same instant shown in another offset.
    pub fn with_offset(&self, offset: i32) -> DateTime {
        DateTime::from_epoch_in(self.epoch(), offset)
    }

    pub fn add_seconds(&self, seconds: i64) -> DateTime {
        DateTime::from_epoch_in(self.epoch() + seconds, self.offset)
    }

    /// Adds a duration the way Pacemaker does (see the module docs): years keep the
    /// day of the year, months clamp the day of the month, then days, then seconds.
    pub fn add(&self, d: &super::Duration) -> DateTime {
        let mut days = self.days;
        if d.years != 0 {
            let (y, _, _) = civil_from_days(days);
            let yd = yearday(days);
            let ny = y + d.years;
            days = days_from_civil(ny, 1, 1) + i64::from(yd.min(days_in_year(ny))) - 1;
        }
        if d.months != 0 {
            let (y, m, dd) = civil_from_days(days);
            let index = y * 12 + i64::from(m) - 1 + d.months;
            let (ny, nm) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
            days = days_from_civil(ny, nm, dd.min(days_in_month(ny, nm)));
        }
        days += d.days;
        let local = days * DAY + i64::from(self.secs) + d.seconds;
        DateTime {
            days: local.div_euclid(DAY),
            secs: local.rem_euclid(DAY) as u32,
            offset: self.offset,
        }
    }

    pub fn year(&self) -> i64 {
        civil_from_days(self.days).0
    }
    pub fn month(&self) -> u32 {
        civil_from_days(self.days).1
    }
    pub fn day(&self) -> u32 {
        civil_from_days(self.days).2
    }
    pub fn hour(&self) -> u32 {
        self.secs / 3600
    }
    pub fn minute(&self) -> u32 {
        self.secs / 60 % 60
    }
    pub fn second(&self) -> u32 {
        self.secs % 60
    }
    /// 1 = Monday … 7 = Sunday.
    pub fn weekday(&self) -> u32 {
        weekday(self.days)
    }
    /// Day of the year, 1-based.
    pub fn yearday(&self) -> u32 {
        yearday(self.days)
    }
    /// ISO 8601 (weekyear, week).
    pub fn iso_week(&self) -> (i64, u32) {
        iso_week(self.days)
    }
}

impl PartialEq for DateTime {
    fn eq(&self, other: &DateTime) -> bool {
        self.epoch() == other.epoch()
    }
}
impl Eq for DateTime {}
impl PartialOrd for DateTime {
    fn partial_cmp(&self, other: &DateTime) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for DateTime {
    fn cmp(&self, other: &DateTime) -> Ordering {
        self.epoch().cmp(&other.epoch())
    }
}

impl fmt::Display for DateTime {
    /// `2005-01-20 12:00:00Z`, or `2005-01-20 12:00:00 +01:00` outside UTC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            self.hour(),
            self.minute(),
            self.second()
        )?;
        if self.offset == 0 {
            return f.write_str("Z");
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let a = self.offset.unsigned_abs();
        write!(f, " {sign}{:02}:{:02}", a / 3600, a / 60 % 60)?;
        if !a.is_multiple_of(60) {
            write!(f, ":{:02}", a % 60)?;
        }
        Ok(())
    }
}

/// A cursor over ASCII text with the few scanning steps the formats need.
struct Scan<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    /// Consumes a run of ASCII digits and returns it (possibly empty).
    fn digits(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }
    fn rest(&self) -> &'a [u8] {
        &self.s[self.pos..]
    }
}

/// Value of a run of digits; saturates rather than overflowing.
fn num(d: &[u8]) -> i64 {
    d.iter().fold(0i64, |v, c| {
        v.saturating_mul(10).saturating_add(i64::from(c - b'0'))
    })
}

fn parse_date_time(text: &str, local_offset: i32) -> Result<DateTime, DateError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(date_err(text, "it is empty"));
    }
    if !t.is_ascii() {
        return Err(date_err(text, "it contains non-ASCII characters"));
    }
    let mut sc = Scan {
        s: t.as_bytes(),
        pos: 0,
    };
    let days = parse_date(&mut sc, text)?;
    // Anything glued to the date other than the time separator is ignored, as
    // Pacemaker does ("2005-01-20x" is 2005-01-20).
    while sc.peek().is_some_and(|c| c != b'T' && c != b' ') {
        sc.pos += 1;
    }
    if !(sc.eat(b'T') || sc.eat(b' ')) || sc.rest().is_empty() {
        return Ok(DateTime {
            days,
            secs: 0,
            offset: 0,
        });
    }
    let (secs, carry) = parse_time(&mut sc, text)?;
    let offset = parse_offset(&mut sc, text, local_offset)?;
    Ok(DateTime {
        days: days + carry,
        secs,
        offset,
    })
}

/// Reads the date part and returns its day number.
fn parse_date(sc: &mut Scan<'_>, text: &str) -> Result<i64, DateError> {
    let first = sc.digits();
    if first.is_empty() {
        return Err(date_err(text, "it does not start with a year"));
    }
    if !sc.eat(b'-') {
        // Compact calendar date YYYYMMDD.
        if first.len() == 8 {
            let (y, m, d) = (
                num(&first[..4]),
                num(&first[4..6]) as u32,
                num(&first[6..]) as u32,
            );
            return calendar_day(y, m, d, text);
        }
        return Err(date_err(
            text,
            "expected YYYY-MM-DD, YYYYMMDD, YYYY-DDD or YYYY-Www-D",
        ));
    }
    let year = num(first);
    if sc.eat(b'W') {
        let week = sc.digits();
        if week.is_empty() || !sc.eat(b'-') {
            return Err(date_err(
                text,
                "a week date needs a week and a weekday, like 2005-W03-4",
            ));
        }
        let wd = sc.digits();
        let (week, wd) = (num(week), num(wd));
        if !(1..=7).contains(&wd) {
            return Err(date_err(
                text,
                "the weekday must be 1 (Monday) to 7 (Sunday)",
            ));
        }
        if week > i64::from(weeks_in_year(year)) {
            return Err(date_err(
                text,
                format!("{year} has only {} ISO weeks", weeks_in_year(year)),
            ));
        }
        return Ok(days_from_iso_week(year, week as u32, wd as u32));
    }
    let second = sc.digits();
    if second.is_empty() {
        return Err(date_err(
            text,
            "expected a month or day of the year after the year",
        ));
    }
    if sc.eat(b'-') {
        let third = sc.digits();
        if third.is_empty() {
            return Err(date_err(text, "expected a day of the month"));
        }
        let (m, d) = (num(second).min(99) as u32, num(third).min(99) as u32);
        return calendar_day(year, m, d, text);
    }
    let yd = num(second);
    if yd < 1 || yd > i64::from(days_in_year(year)) {
        return Err(date_err(
            text,
            format!("day of the year must be 1 to {}", days_in_year(year)),
        ));
    }
    Ok(days_from_civil(year, 1, 1) + yd - 1)
}

fn calendar_day(year: i64, month: u32, day: u32, text: &str) -> Result<i64, DateError> {
    if !(1..=12).contains(&month) {
        return Err(date_err(text, "the month must be 1 to 12"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(date_err(
            text,
            format!("the day must be 1 to {}", days_in_month(year, month)),
        ));
    }
    Ok(days_from_civil(year, month, day))
}

/// Reads the time of day; returns seconds since midnight and a day carry (for 24:00).
fn parse_time(sc: &mut Scan<'_>, text: &str) -> Result<(u32, i64), DateError> {
    let first = sc.digits();
    if first.is_empty() {
        return Err(date_err(
            text,
            "expected a time like 13:00:00 after the date",
        ));
    }
    let (h, m, s) = if sc.eat(b':') {
        let m = num(sc.digits());
        let s = if sc.eat(b':') { num(sc.digits()) } else { 0 };
        (num(first), m, s)
    } else {
        // Compact forms: HH, HHMM, HHMMSS.
        let part = |r: std::ops::Range<usize>| first.get(r).map(num).unwrap_or(0);
        match first.len() {
            1 | 2 => (num(first), 0, 0),
            4 | 6 => (part(0..2), part(2..4), part(4..6)),
            _ => return Err(date_err(text, "expected HH:MM:SS, HHMMSS or HHMM")),
        }
    };
    if (sc.eat(b'.') || sc.eat(b',')) && sc.digits().is_empty() {
        return Err(date_err(text, "expected digits after the decimal point"));
    }
    if h == 24 && m == 0 && s == 0 {
        return Ok((0, 1));
    }
    if h > 23 || m > 59 || s > 59 {
        return Err(date_err(
            text,
            "the time must be 00:00:00 to 23:59:59 (or 24:00:00)",
        ));
    }
    Ok(((h * 3600 + m * 60 + s) as u32, 0))
}

/// Reads what follows the time; see the module docs for Pacemaker's rules.
fn parse_offset(sc: &mut Scan<'_>, text: &str, local_offset: i32) -> Result<i32, DateError> {
    if sc.eat(b'Z') {
        return Ok(0);
    }
    if sc.peek() != Some(b' ') {
        // Nothing, or an offset glued to the time, which Pacemaker ignores.
        return Ok(local_offset);
    }
    while sc.eat(b' ') {}
    let sign = match sc.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        // "Z" or anything else that is not an offset: UTC.
        _ => return Ok(0),
    };
    sc.pos += 1;
    let first = sc.digits();
    if first.is_empty() {
        return Err(date_err(
            text,
            "expected hours after the offset sign, like +01:00",
        ));
    }
    let (h, m, s) = if sc.eat(b':') {
        let m = num(sc.digits());
        let s = if sc.eat(b':') { num(sc.digits()) } else { 0 };
        (num(first), m, s)
    } else if first.len() >= 4 {
        (num(&first[..2]), num(&first[2..4]), 0)
    } else {
        (num(&first[..first.len().min(2)]), 0, 0)
    };
    if h > 24 || m > 59 || s > 59 {
        return Err(date_err(
            text,
            "the offset must be at most 24 hours, like +05:30",
        ));
    }
    Ok(sign * (h * 3600 + m * 60 + s) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, Pacemaker's `iso8601 -S -d` epoch, or None where it rejects the input),
    /// run with TZ=UTC.
    const ORACLE: &[(&str, Option<i64>)] = &[
        ("2005-01-20", Some(1_106_179_200)),
        ("2005-01-20 00:00:00", Some(1_106_179_200)),
        ("2005-01-20T00:00:00Z", Some(1_106_179_200)),
        ("2005-01-20T12:34:56+01:00", Some(1_106_224_496)),
        ("2005-01-20T12:34:56 +01:00", Some(1_106_220_896)),
        ("2005-01-20 12:34:56+01", Some(1_106_224_496)),
        ("2005-01-20 12:34:56Z", Some(1_106_224_496)),
        ("2005-01-20 12:34:56 Z", Some(1_106_224_496)),
        ("2005-01-20 12:34:56 +01:00", Some(1_106_220_896)),
        ("2005-01-20 12:34:56 -01", Some(1_106_228_096)),
        ("2005-01-20 12:34:56 +1:30", Some(1_106_219_096)),
        ("2005-01-20 12:34:56 +130", Some(1_106_177_696)),
        ("2005-01-20 12:34:56 +13", Some(1_106_177_696)),
        ("2005-01-20 12:34:56 +0130", Some(1_106_219_096)),
        ("2005-01-20 12:34:56 +01:30:15", Some(1_106_219_081)),
        ("2005-01-20 12:34:56 junk", Some(1_106_224_496)),
        ("2005-01-20 12:34:56 -12:00", Some(1_106_267_696)),
        ("2005-01-20 12:34:56 +24:00", Some(1_106_138_096)),
        ("2005-01-20 12:34:56 -0530", Some(1_106_244_296)),
        ("2005-01-20 12:34 +01:00", Some(1_106_220_840)),
        ("2005-01-20 12:34:56.789 +01:00", Some(1_106_220_896)),
        ("2005-01-20T1234", Some(1_106_224_440)),
        ("2005-01-20 1234", Some(1_106_224_440)),
        ("2005-01-20 120000", Some(1_106_222_400)),
        ("2005-01-20 12:3", Some(1_106_222_580)),
        ("2005-01-20 12", Some(1_106_222_400)),
        ("2005-01-20 1:2:3", Some(1_106_182_923)),
        ("2005-01-20T", Some(1_106_179_200)),
        ("2005-01-20x", Some(1_106_179_200)),
        ("2005-01-20 24:00:00", Some(1_106_265_600)),
        ("20050120", Some(1_106_179_200)),
        ("20050120T123456", Some(1_106_224_496)),
        ("2005-W03-4", Some(1_106_179_200)),
        ("2005-W3-4", Some(1_106_179_200)),
        ("2004-W53-6", Some(1_104_537_600)),
        ("2004-W53-7", Some(1_104_624_000)),
        ("2005-W00-1", Some(1_104_105_600)),
        ("2005-W01-1", Some(1_104_710_400)),
        ("2009-W01-1", Some(1_230_508_800)),
        ("2020-W53-1", Some(1_609_113_600)),
        ("2026-W53-1", Some(1_798_416_000)),
        ("2005-W52-7", Some(1_136_073_600)),
        ("2005-020", Some(1_106_179_200)),
        ("2005-020 12:00:00", Some(1_106_222_400)),
        ("2005-02", Some(1_104_624_000)),
        ("2005-40", Some(1_107_907_200)),
        ("2005-001", Some(1_104_537_600)),
        ("2004-366", Some(1_104_451_200)),
        ("2005-1-2", Some(1_104_624_000)),
        ("1970-01-01", Some(0)),
        ("12005-01-20", Some(316_675_699_200)),
        ("05-01-20", Some(-62_007_724_800)),
        ("2005-W03", None),
        ("2005", None),
        ("2005-02-30", None),
        ("2005-13-01", None),
        ("2005-00-10", None),
        ("2005-01-00", None),
        ("2005-01-32", None),
        ("2005-W53-1", None),
        ("2005-W01-0", None),
        ("2005-W01-8", None),
        ("2005-000", None),
        ("2005-366", None),
        ("2005-01-20 23:59:60", None),
        ("2005-01-20 25:00:00", None),
        ("2005-01-20 12:60:00", None),
        ("2005-01-20 24:00:01", None),
        ("2005-01-20 12:00:00 +25:00", None),
        ("2005-01-20 x", None),
        ("2005-01-20 T12:00:00", None),
        ("2005/01/20", None),
        ("20050120T12", Some(1_106_222_400)),
        ("20050120 12:00:00", Some(1_106_222_400)),
        ("2005-01-20T12:00:00.123Z", Some(1_106_222_400)),
        ("2005-01-20T12:00:00,5", Some(1_106_222_400)),
        ("2005-01-20T24:00", Some(1_106_265_600)),
        ("2005-01-20 12:00:00 +01:00 junk", Some(1_106_218_800)),
        ("2005-01-20 12:00:00 -00:30", Some(1_106_224_200)),
        ("2005-01-20 12:00:00  +01:00", Some(1_106_218_800)),
        ("2005W034", None),
        ("2005-W034", None),
        ("abc", None),
    ];

    #[test]
    fn parse_matches_pacemaker_iso8601() {
        for (text, want) in ORACLE {
            let got = DateTime::parse(text).map(|d| d.epoch()).ok();
            assert_eq!(got, *want, "parsing {text:?}");
        }
    }

    /// With TZ=America/Chicago (-06:00), iso8601 shows which forms use the local zone.
    #[test]
    fn only_times_without_offset_are_local() {
        let chicago = -6 * 3600;
        let utc = |s: &str| DateTime::parse_local(s, chicago).unwrap().to_string();
        let as_utc = |s: &str| {
            DateTime::parse_local(s, chicago)
                .unwrap()
                .with_offset(0)
                .to_string()
        };
        assert_eq!(as_utc("2005-01-20"), "2005-01-20 00:00:00Z");
        assert_eq!(as_utc("2005-01-20 00:00:00"), "2005-01-20 06:00:00Z");
        assert_eq!(as_utc("2005-01-20T12:34:56+01:00"), "2005-01-20 18:34:56Z");
        assert_eq!(as_utc("2005-01-20T12:34:56-05:00"), "2005-01-20 18:34:56Z");
        assert_eq!(as_utc("2005-01-20T12:34:56Z"), "2005-01-20 12:34:56Z");
        assert_eq!(as_utc("2005-01-20 12:34:56 junk"), "2005-01-20 12:34:56Z");
        assert_eq!(as_utc("2005-01-20 12:34:56 +01:00"), "2005-01-20 11:34:56Z");
        assert_eq!(utc("2005-01-20 12:00:00"), "2005-01-20 12:00:00 -06:00");
    }

    #[test]
    fn fields_are_civil_in_the_written_offset() {
        let t = DateTime::parse("2005-01-21 02:00:00 +05:00").unwrap();
        assert_eq!((t.year(), t.month(), t.day(), t.hour()), (2005, 1, 21, 2));
        assert_eq!(t.with_offset(0).day(), 20);
        assert_eq!(t.weekday(), 5);
        assert_eq!(t.yearday(), 21);
        assert_eq!(t.iso_week(), (2005, 3));
        assert_eq!(t.to_string(), "2005-01-21 02:00:00 +05:00");
        assert_eq!(
            DateTime::parse("2005-01-20 12:00:00 -0530")
                .unwrap()
                .to_string(),
            "2005-01-20 12:00:00 -05:30"
        );
    }

    #[test]
    fn execution_date_is_epoch_seconds() {
        let t = DateTime::parse_execution_date("1461920819").unwrap();
        assert_eq!(t.to_string(), "2016-04-29 09:06:59Z");
        assert!(DateTime::parse_execution_date("yesterday").is_err());
        assert_eq!(DateTime::from_epoch(-1).to_string(), "1969-12-31 23:59:59Z");
    }

    #[test]
    fn from_civil_validates() {
        assert!(DateTime::from_civil(2004, 2, 29, 0, 0, 0, 0).is_some());
        assert!(DateTime::from_civil(2005, 2, 29, 0, 0, 0, 0).is_none());
        assert!(DateTime::from_civil(2005, 1, 1, 24, 0, 0, 0).is_none());
    }

    #[test]
    fn errors_name_the_text_and_show_examples() {
        let e = DateTime::parse("2005-02-30").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("\"2005-02-30\"") && msg.contains("1 to 28"),
            "{msg}"
        );
    }
}
