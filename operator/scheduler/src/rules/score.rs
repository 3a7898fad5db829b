//! Pacemaker scores: text from the CIB (`score="INFINITY"`, `"-500"`, …) in, a saturating
//! integer out.
//!
//! Pacemaker keeps scores as integers clamped to ±1 000 000 (`INFINITY`). Addition
//! saturates, and `-INFINITY` wins over `+INFINITY` ("INFINITY - INFINITY = -INFINITY",
//! Pacemaker Explained §5.1.1), so a ban can never be cancelled by a preference.
//!
//! Parsing follows what crm_simulate 2.1.5 does with odd input (checked with location
//! constraints): `INFINITY`/`+INFINITY`/`-INFINITY` are the only named values (`inf`,
//! `Infinity` and the like are *not* infinite: they read as 0); otherwise the leading
//! decimal integer is used (`"12abc"` is 12, `"5.5"` is 5, `" 5"` is 5), text without
//! one is 0, and out-of-range numbers saturate. `red`, `yellow` and `green` (any
//! case) are the node-health scores of the cluster options ([`HealthScores`]).

use std::{fmt, ops::Add};

/// A Pacemaker score: an integer in `-1_000_000..=1_000_000` where the ends mean
/// ±INFINITY.
///
/// ```
/// use pacer_scheduler::rules::Score;
/// let inf = Score::parse("INFINITY");
/// assert_eq!(inf, Score::INFINITY);
/// assert_eq!(inf + Score::parse("-INFINITY"), Score::NEG_INFINITY);
/// assert_eq!(Score::new(999_999) + Score::new(5), Score::INFINITY);
/// assert_eq!(Score::parse("-500").to_string(), "-500");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Score(i32);

/// The magnitude Pacemaker uses for INFINITY.
pub const INFINITY: i32 = 1_000_000;

impl Score {
    pub const INFINITY: Score = Score(INFINITY);
    pub const NEG_INFINITY: Score = Score(-INFINITY);
    pub const ZERO: Score = Score(0);

    /// A score from an integer, clamped to ±INFINITY.
    pub fn new(value: i64) -> Score {
        Score(value.clamp(-(INFINITY as i64), INFINITY as i64) as i32)
    }

    /// Parses a score the way Pacemaker reads CIB score attributes; never fails
    /// (unparsable text is 0, like Pacemaker). Health colours read as 0, as with the
    /// default `node-health-strategy=none`; use [`Score::parse_with_health`] when the
    /// cluster sets a strategy, and [`Score::parse_strict`] to report bad input.
    pub fn parse(text: &str) -> Score {
        Score::parse_with_health(text, &HealthScores::default())
    }

    /// Like [`Score::parse`], reading `red`/`yellow`/`green` (any case) from `health`.
    pub fn parse_with_health(text: &str, health: &HealthScores) -> Score {
        match text.trim().to_ascii_lowercase().as_str() {
            "red" => health.red,
            "yellow" => health.yellow,
            "green" => health.green,
            _ => Score::parse_strict(text).unwrap_or(Score::ZERO),
        }
    }

    /// Like [`Score::parse`], but `None` for text that has no leading integer and is
    /// not one of the INFINITY spellings (Pacemaker would silently use 0 there).
    pub fn parse_strict(text: &str) -> Option<Score> {
        let t = text.trim();
        match t {
            "INFINITY" | "+INFINITY" => return Some(Score::INFINITY),
            "-INFINITY" => return Some(Score::NEG_INFINITY),
            _ => {}
        }
        leading_integer(t).map(Score::new)
    }

    pub fn value(self) -> i32 {
        self.0
    }

    pub fn is_infinity(self) -> bool {
        self.0 >= INFINITY
    }

    pub fn is_neg_infinity(self) -> bool {
        self.0 <= -INFINITY
    }
}

/// What the score words `red`, `yellow` and `green` stand for, from the cluster
/// options `node-health-strategy` and `node-health-red|yellow|green`.
///
/// crm_simulate 2.1.5: with no strategy all three are 0; `migrate-on-red` makes red
/// -INFINITY; `only-green` makes red and yellow -INFINITY; `progressive` and `custom`
/// use the configured values (default 0).
///
/// ```
/// use pacer_scheduler::rules::score::{HealthScores, Score};
/// let h = HealthScores::from_options(Some("custom"), Some("-77"), Some("-5"), Some("3"));
/// assert_eq!(Score::parse_with_health("RED", &h), Score::new(-77));
/// let m = HealthScores::from_options(Some("migrate-on-red"), None, None, None);
/// assert_eq!(Score::parse_with_health("red", &m), Score::NEG_INFINITY);
/// assert_eq!(Score::parse("red"), Score::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthScores {
    pub red: Score,
    pub yellow: Score,
    pub green: Score,
}

impl HealthScores {
    pub fn from_options(
        strategy: Option<&str>,
        red: Option<&str>,
        yellow: Option<&str>,
        green: Option<&str>,
    ) -> HealthScores {
        let configured = |v: Option<&str>| v.map(Score::parse).unwrap_or_default();
        match strategy.map(str::trim) {
            Some("migrate-on-red") => HealthScores {
                red: Score::NEG_INFINITY,
                ..Default::default()
            },
            Some("only-green") => HealthScores {
                red: Score::NEG_INFINITY,
                yellow: Score::NEG_INFINITY,
                green: Score::ZERO,
            },
            Some("progressive" | "custom") => HealthScores {
                red: configured(red),
                yellow: configured(yellow),
                green: configured(green),
            },
            _ => HealthScores::default(),
        }
    }
}

/// The leading decimal integer of `t` (optional sign, then digits), saturated to i64;
/// `None` when there is no digit. Mirrors how C's `strtoll` reads a prefix.
pub(crate) fn leading_integer(t: &str) -> Option<i64> {
    let t = t.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let mut v: i64 = 0;
    for b in rest.as_bytes()[..digits].iter() {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    Some(if neg { v.saturating_neg() } else { v })
}

impl Add for Score {
    type Output = Score;

    /// Saturating addition with Pacemaker's rule that -INFINITY dominates.
    fn add(self, rhs: Score) -> Score {
        if self.is_neg_infinity() || rhs.is_neg_infinity() {
            Score::NEG_INFINITY
        } else if self.is_infinity() || rhs.is_infinity() {
            Score::INFINITY
        } else {
            Score::new(i64::from(self.0) + i64::from(rhs.0))
        }
    }
}

impl std::ops::AddAssign for Score {
    fn add_assign(&mut self, rhs: Score) {
        *self = *self + rhs;
    }
}

impl fmt::Display for Score {
    /// `INFINITY`, `-INFINITY` or the integer, as crm_simulate prints scores.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_infinity() {
            f.write_str("INFINITY")
        } else if self.is_neg_infinity() {
            f.write_str("-INFINITY")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, crm_simulate 2.1.5's allocation score for a rule with that score).
    const ORACLE: &[(&str, &str)] = &[
        ("INFINITY", "INFINITY"),
        ("+INFINITY", "INFINITY"),
        ("-INFINITY", "-INFINITY"),
        ("inf", "0"),
        ("+inf", "0"),
        ("-inf", "0"),
        ("Infinity", "0"),
        ("infinity", "0"),
        ("INF", "0"),
        ("1000000", "INFINITY"),
        ("1000001", "INFINITY"),
        ("-1000001", "-INFINITY"),
        ("99999999999", "INFINITY"),
        ("12abc", "12"),
        ("abc", "0"),
        (" 5", "5"),
        ("5 ", "5"),
        ("5.5", "5"),
        ("-5.9", "-5"),
        ("+7", "7"),
        ("", "0"),
        ("red", "0"),
        ("0x10", "0"),
        ("1e3", "1"),
        ("--5", "0"),
    ];

    #[test]
    fn parse_matches_crm_simulate() {
        for (text, want) in ORACLE {
            assert_eq!(Score::parse(text).to_string(), *want, "score {text:?}");
        }
    }

    /// Rule scores `red`, `yellow`, `green`, `RED` under two strategies.
    #[test]
    fn health_colours_match_crm_simulate() {
        let words = ["red", "yellow", "green", "RED"];
        let m = HealthScores::from_options(Some("migrate-on-red"), None, None, None);
        let got: Vec<String> = words
            .iter()
            .map(|w| Score::parse_with_health(w, &m).to_string())
            .collect();
        assert_eq!(got, ["-INFINITY", "0", "0", "-INFINITY"]);
        let c = HealthScores::from_options(Some("custom"), Some("-77"), Some("-5"), Some("3"));
        let got: Vec<String> = words
            .iter()
            .map(|w| Score::parse_with_health(w, &c).to_string())
            .collect();
        assert_eq!(got, ["-77", "-5", "3", "-77"]);
        let o = HealthScores::from_options(Some("only-green"), None, None, None);
        assert_eq!(o.yellow, Score::NEG_INFINITY);
    }

    #[test]
    fn strict_parse_rejects_text_without_a_number() {
        assert_eq!(Score::parse_strict("abc"), None);
        assert_eq!(Score::parse_strict("inf"), None);
        assert_eq!(Score::parse_strict("42"), Some(Score::new(42)));
    }

    #[test]
    fn infinity_math() {
        let inf = Score::INFINITY;
        let ninf = Score::NEG_INFINITY;
        assert_eq!(inf + ninf, ninf);
        assert_eq!(ninf + inf, ninf);
        assert_eq!(inf + Score::new(-999_999), inf);
        assert_eq!(ninf + Score::new(999_999), ninf);
        assert_eq!(Score::new(600_000) + Score::new(600_000), inf);
        assert_eq!(Score::new(-600_000) + Score::new(-600_000), ninf);
        assert_eq!(Score::new(5) + Score::new(-7), Score::new(-2));
        let mut s = Score::ZERO;
        s += Score::new(10);
        assert_eq!(s.value(), 10);
    }
}
