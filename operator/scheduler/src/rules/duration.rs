//! Durations: ISO 8601 text (`P1Y2M3DT4H5M6S`, `PT5M`) or a rule's `<duration>`
//! element in, a [`Duration`] (years, months, days, seconds kept apart because their
//! length depends on the date they are added to) out.
//!
//! Pacemaker's reading (checked with `iso8601 -D`): designators may come in any order,
//! `T` only tells minutes from months (`P1H` is an hour, `PT1D` a day), `W` is 7 days,
//! numbers are integers and may be negative (`P-1D`), `PT` alone is zero but `P` alone
//! and fractions (`P1.5D`) are errors. In a `<duration>` element each attribute is read
//! as its leading integer (`days="1x"` is 1, `days="1.5"` is 1), unknown attributes
//! (`monthdays`, `yeardays`) are ignored.

use super::{date::DateError, score::leading_integer};

/// A calendar duration; see [`super::DateTime::add`] for how it is applied.
///
/// ```
/// use pacer_scheduler::rules::Duration;
/// let d = Duration::parse("P1Y2M3W4DT5H6M7S").unwrap();
/// assert_eq!((d.years, d.months, d.days, d.seconds), (1, 2, 25, 5 * 3600 + 6 * 60 + 7));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Duration {
    pub years: i64,
    pub months: i64,
    /// Days including weeks.
    pub days: i64,
    /// Hours, minutes and seconds.
    pub seconds: i64,
}

impl Duration {
    /// Parses an ISO 8601 duration as Pacemaker does.
    pub fn parse(text: &str) -> Result<Duration, DateError> {
        let err = |reason: &str| DateError {
            what: "duration",
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let t = text.trim();
        let body = t
            .strip_prefix('P')
            .ok_or_else(|| err("it must start with P"))?;
        if body.is_empty() {
            return Err(err("it has no fields"));
        }
        let mut d = Duration::default();
        let mut in_time = false;
        let mut rest = body;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('T') {
                in_time = true;
                rest = r;
                continue;
            }
            let neg = rest.starts_with('-');
            let digits_from = usize::from(neg);
            let len = rest[digits_from..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if len == 0 {
                return Err(err(
                    "expected a whole number before each of Y, M, W, D, H, S",
                ));
            }
            let n: i64 = leading_integer(&rest[..digits_from + len]).unwrap_or(0);
            rest = &rest[digits_from + len..];
            let unit = rest
                .chars()
                .next()
                .ok_or_else(|| err("a number lacks its unit"))?;
            rest = &rest[1..];
            match unit {
                'Y' => d.years += n,
                'M' if in_time => d.seconds += n * 60,
                'M' => d.months += n,
                'W' => d.days += n * 7,
                'D' => d.days += n,
                'H' => d.seconds += n * 3600,
                'S' => d.seconds += n,
                _ => return Err(err("units are Y, M, W, D, H, M (after T) and S")),
            }
        }
        Ok(d)
    }

    /// Reads a rule's `<duration years=".." months=".." weeks=".." days=".." hours=".."
    /// minutes=".." seconds=".."/>` element.
    pub fn from_element(node: roxmltree::Node<'_, '_>) -> Duration {
        let get = |name: &str| node.attribute(name).and_then(leading_integer).unwrap_or(0);
        Duration {
            years: get("years"),
            months: get("months"),
            days: get("weeks") * 7 + get("days"),
            seconds: get("hours") * 3600 + get("minutes") * 60 + get("seconds"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{super::DateTime, *};

    fn secs(d: &str) -> Option<(i64, i64, i64, i64)> {
        Duration::parse(d)
            .ok()
            .map(|d| (d.years, d.months, d.days, d.seconds))
    }

    /// Pacemaker's `iso8601 -D` output for each input.
    #[test]
    fn parse_matches_pacemaker() {
        assert_eq!(secs("P1Y2M3DT4H5M6S"), Some((1, 2, 3, 14_706)));
        assert_eq!(secs("PT5M"), Some((0, 0, 0, 300)));
        assert_eq!(secs("P1M"), Some((0, 1, 0, 0)));
        assert_eq!(secs("P1W"), Some((0, 0, 7, 0)));
        assert_eq!(secs("P2W3D"), Some((0, 0, 17, 0)));
        assert_eq!(secs("PT36H"), Some((0, 0, 0, 129_600)));
        assert_eq!(secs("P0D"), Some((0, 0, 0, 0)));
        assert_eq!(secs("PT"), Some((0, 0, 0, 0)));
        assert_eq!(secs("P-1D"), Some((0, 0, -1, 0)));
        assert_eq!(secs("P1DT"), Some((0, 0, 1, 0)));
        assert_eq!(secs("P1H"), Some((0, 0, 0, 3600)));
        assert_eq!(secs("PT1D"), Some((0, 0, 1, 0)));
        assert_eq!(secs("P1M1Y"), Some((1, 1, 0, 0)));
        assert_eq!(secs("P1Y2M3W4DT5H6M7S"), Some((1, 2, 25, 18_367)));
        assert_eq!(secs("P1DT1S"), Some((0, 0, 1, 1)));
        for bad in ["P1.5D", "P", "1D", "pt5m", "P1X", "P1"] {
            assert_eq!(secs(bad), None, "{bad:?} must be rejected");
        }
    }

    fn plus(start: &str, d: &str) -> String {
        DateTime::parse(start)
            .unwrap()
            .add(&Duration::parse(d).unwrap())
            .to_string()
    }

    /// Pacemaker's `iso8601 -p START/DURATION` end dates.
    #[test]
    fn addition_matches_pacemaker() {
        let cases = [
            ("2005-01-31", "P1M", "2005-02-28 00:00:00Z"),
            ("2004-02-29", "P1Y", "2005-03-01 00:00:00Z"),
            ("2005-01-30", "P1M1D", "2005-03-01 00:00:00Z"),
            ("2004-02-29", "P1Y1M", "2005-04-01 00:00:00Z"),
            ("2004-01-15", "P1Y", "2005-01-15 00:00:00Z"),
            ("2004-03-01", "P1Y", "2005-03-02 00:00:00Z"),
            ("2003-03-01", "P1Y", "2004-02-29 00:00:00Z"),
            ("2003-02-28", "P1Y", "2004-02-28 00:00:00Z"),
            ("2004-02-29", "P4Y", "2008-02-29 00:00:00Z"),
            ("2004-02-29", "P12M", "2005-02-28 00:00:00Z"),
            ("2004-01-31", "P1M", "2004-02-29 00:00:00Z"),
            ("2004-03-31", "P1M", "2004-04-30 00:00:00Z"),
            ("2005-12-31", "P1M", "2006-01-31 00:00:00Z"),
            ("2005-12-15", "P13M", "2007-01-15 00:00:00Z"),
            ("2005-01-31", "P2M", "2005-03-31 00:00:00Z"),
            ("2005-03-31", "P-1M", "2005-02-28 00:00:00Z"),
            ("2005-01-01", "P-1D", "2004-12-31 00:00:00Z"),
            ("2005-01-31", "P1M31D", "2005-03-31 00:00:00Z"),
            ("2005-01-31 23:30:00", "PT1H", "2005-02-01 00:30:00Z"),
            ("2005-01-31 23:30:00", "P1MT1H", "2005-03-01 00:30:00Z"),
            ("2004-02-29 23:30:00", "P1YT1H", "2005-03-02 00:30:00Z"),
            ("2004-12-31", "P1Y", "2005-12-31 00:00:00Z"),
            ("2004-12-30", "P1Y", "2005-12-31 00:00:00Z"),
            ("2005-02-28", "P1Y", "2006-02-28 00:00:00Z"),
        ];
        for (start, d, want) in cases {
            assert_eq!(plus(start, d), want, "{start} + {d}");
        }
    }

    /// Pacemaker adds in the written offset, then iso8601 shows UTC.
    #[test]
    fn addition_uses_the_written_offset() {
        let utc = |s: &str, d: &str| {
            DateTime::parse(s)
                .unwrap()
                .add(&Duration::parse(d).unwrap())
                .with_offset(0)
                .to_string()
        };
        assert_eq!(
            utc("2005-01-30 22:00:00 -05:00", "P1M"),
            "2005-03-01 03:00:00Z"
        );
        assert_eq!(
            utc("2005-01-30 22:00:00 -05:00", "P1Y"),
            "2006-01-31 03:00:00Z"
        );
        assert_eq!(
            utc("2004-02-29 22:00:00 -05:00", "P1Y"),
            "2005-03-02 03:00:00Z"
        );
        assert_eq!(
            utc("2004-02-28 22:00:00 -05:00", "P1Y"),
            "2005-03-01 03:00:00Z"
        );
        assert_eq!(
            utc("2005-03-01 02:00:00 +05:00", "P1Y"),
            "2006-02-28 21:00:00Z"
        );
    }

    #[test]
    fn element_attributes_are_leading_integers() {
        let doc = roxmltree::Document::parse(
            r#"<duration id="d" years="1" months="2" weeks="1" days="1x" hours="1.5" minutes="-2" seconds="3" monthdays="9"/>"#,
        )
        .unwrap();
        let d = Duration::from_element(doc.root_element());
        assert_eq!(
            (d.years, d.months, d.days, d.seconds),
            (1, 2, 8, 3600 - 120 + 3)
        );
    }
}
