//! `date_spec`: a cron-like `<date_spec hours="9-16" weekdays="1-5" …/>` element and a
//! [`DateTime`] in, whether every given field matches out.
//!
//! Matched on the civil fields of "now" in the offset it was given in (crm_simulate
//! `-t "… 10:00:00 +05:00"` matches `hours="10"`). Fields: `years`, `months`,
//! `monthdays`, `hours`, `minutes`, `seconds`, `weekdays` (1 = Monday), `yeardays`,
//! `weekyears`, `weeks` (ISO 8601) and `moon` (0 = new … 4 = full … 7).
//!
//! Field values, as crm_simulate 2.1.5 reads them: `"9"`, `"9-16"` (inclusive), `"9-"`
//! (9 or more), `"-9"` (9 or less); blanks are allowed before a number (`" 9- 16"`) but
//! nothing after it. A value that does not fit (`"1,2"`, `"9x"`, `"9 "`, `""`) makes
//! Pacemaker ignore that field — it then matches everything — so we do the same and
//! report it. Unknown attributes (the schema's misspelt `yearsdays`) are ignored too.

use super::{DateTime, score::leading_integer};

/// The fields a `date_spec` may constrain, in the order they are checked.
pub const FIELDS: &[&str] = &[
    "years",
    "months",
    "monthdays",
    "hours",
    "minutes",
    "seconds",
    "yeardays",
    "weekyears",
    "weeks",
    "weekdays",
    "moon",
];

/// An inclusive range with optional ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecRange {
    pub low: Option<i64>,
    pub high: Option<i64>,
}

impl SpecRange {
    /// Reads `"N"`, `"N-M"`, `"N-"` or `"-M"`; `None` when Pacemaker would ignore the
    /// value.
    pub fn parse(text: &str) -> Option<SpecRange> {
        // A whole C-style integer: blanks, optional sign, digits, nothing after.
        fn int(t: &str) -> Option<i64> {
            let t = t.trim_start();
            let body = t.strip_prefix(['+', '-']).unwrap_or(t);
            (!body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()))
                .then(|| leading_integer(t))
                .flatten()
        }
        let t = text.trim_start();
        if let Some(high) = t.strip_prefix('-') {
            return Some(SpecRange {
                low: None,
                high: Some(int(high)?),
            });
        }
        // Split at the first '-' after the first number's digits.
        let sign = usize::from(t.starts_with('+'));
        let digits = t[sign..].bytes().take_while(u8::is_ascii_digit).count();
        let (low, rest) = t.split_at(sign + digits);
        let low = int(low)?;
        match rest.strip_prefix('-') {
            None if rest.is_empty() => Some(SpecRange {
                low: Some(low),
                high: Some(low),
            }),
            None => None,
            Some("") => Some(SpecRange {
                low: Some(low),
                high: None,
            }),
            Some(high) => Some(SpecRange {
                low: Some(low),
                high: Some(int(high)?),
            }),
        }
    }

    pub fn contains(&self, v: i64) -> bool {
        self.low.is_none_or(|l| v >= l) && self.high.is_none_or(|h| v <= h)
    }
}

/// Moon phase 0-7 of a date (0 = new moon, 4 = full moon), from the year and
/// 1-based day of the year via the golden number and epact — the classic
/// approximation Pacemaker also uses (matches crm_simulate on every date tested).
pub fn moon_phase(now: &DateTime) -> i64 {
    let golden = now.year().rem_euclid(19) + 1;
    let mut epact = (11 * golden + 18) % 30;
    if (epact == 25 && golden > 11) || epact == 24 {
        epact += 1;
    }
    (((((i64::from(now.yearday()) + epact) * 6) + 11) % 177) / 22) & 7
}

/// The value of a `date_spec` field for `now`.
pub fn field_value(field: &str, now: &DateTime) -> Option<i64> {
    Some(match field {
        "years" => now.year(),
        "months" => now.month().into(),
        "monthdays" => now.day().into(),
        "hours" => now.hour().into(),
        "minutes" => now.minute().into(),
        "seconds" => now.second().into(),
        "yeardays" => now.yearday().into(),
        "weekyears" => now.iso_week().0,
        "weeks" => now.iso_week().1.into(),
        "weekdays" => now.weekday().into(),
        "moon" => moon_phase(now),
        _ => return None,
    })
}

/// Outcome of matching a `date_spec` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecMatch {
    pub matched: bool,
    /// Fields Pacemaker ignores because their value is not a number or range.
    pub ignored: Vec<(String, String)>,
}

/// Matches a `<date_spec>` element against `now`.
pub fn matches(spec: roxmltree::Node<'_, '_>, now: &DateTime) -> SpecMatch {
    let mut out = SpecMatch {
        matched: true,
        ignored: Vec::new(),
    };
    for field in FIELDS {
        let Some(text) = spec.attribute(*field) else {
            continue;
        };
        let Some(range) = SpecRange::parse(text) else {
            out.ignored.push((field.to_string(), text.to_string()));
            continue;
        };
        if let Some(v) = field_value(field, now) {
            out.matched &= range.contains(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_syntax() {
        let r = |lo, hi| Some(SpecRange { low: lo, high: hi });
        assert_eq!(SpecRange::parse("9"), r(Some(9), Some(9)));
        assert_eq!(SpecRange::parse("09"), r(Some(9), Some(9)));
        assert_eq!(SpecRange::parse(" 9"), r(Some(9), Some(9)));
        assert_eq!(SpecRange::parse("9-16"), r(Some(9), Some(16)));
        assert_eq!(SpecRange::parse(" 9-16"), r(Some(9), Some(16)));
        assert_eq!(SpecRange::parse("9- 16"), r(Some(9), Some(16)));
        assert_eq!(SpecRange::parse("9-"), r(Some(9), None));
        assert_eq!(SpecRange::parse("-9"), r(None, Some(9)));
        assert_eq!(SpecRange::parse("9--16"), r(Some(9), Some(-16)));
        assert_eq!(SpecRange::parse("+9"), r(Some(9), Some(9)));
        for bad in ["", "x", "9x", "9 ", "9-16 ", "9-16x", "9 - 16", "1,2", "-"] {
            assert_eq!(SpecRange::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn moon_matches_crm_simulate() {
        // Dates and the only moon="N" value crm_simulate matched there.
        for (date, phase) in [
            ("2005-01-20 09:00:05", 3),
            ("2005-01-01 12:00:00", 5),
            ("2005-01-02 12:00:00", 6),
            ("2005-01-22 10:00:30", 3),
            ("2004-12-31 10:00:00", 5),
            ("2005-01-21 10:00:00 +14:00", 3),
        ] {
            assert_eq!(moon_phase(&DateTime::parse(date).unwrap()), phase, "{date}");
        }
    }
}
