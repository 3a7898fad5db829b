//! Typed comparison for `<expression>`: an operation, an optional `type`, the node's
//! value and the expression's value in, true/false out.
//!
//! Semantics measured with crm_simulate 2.1.5 (see the tests):
//! - Without `type`, `lt`/`gt`/`lte`/`gte` compare as `number` when either value has a
//!   `.`, else as `integer`; `eq`/`ne` compare as `string`.
//! - `integer` reads the leading integer like C's `strtoll` (`"10abc"` is 10, `"1e1"` is
//!   1, `"9.5"` is 9, `"0x10"` is 0); `number` reads the leading float like `strtod`
//!   (`"1e1"` is 10, `"1.2.3"` is 1.2, `"inf"` is infinite). If either side has no
//!   number at all, both are compared as strings.
//! - `string` comparison ignores ASCII case (`"ABC" eq "abc"`), otherwise byte order.
//! - `version` compares dot-separated numeric parts, missing parts count as 0
//!   (`1.2 eq 1.2.0 eq 01.02`, `1.10 gt 1.2`). Pacemaker hangs on some non-numeric
//!   versions (`"10abc"` vs `"10"`); we read such parts by their leading integer, or 0.
//! - An absent node attribute (or absent value) behaves like C's NULL: `eq` is true only
//!   when both are absent, `ne` is its negation, every ordering is false.

use std::cmp::Ordering;

use super::score::leading_integer;

/// Comparison operations of `<expression operation="…">`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Gt,
    Lte,
    Gte,
    Eq,
    Ne,
    Defined,
    NotDefined,
}

impl Op {
    pub fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "lt" => Op::Lt,
            "gt" => Op::Gt,
            "lte" => Op::Lte,
            "gte" => Op::Gte,
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "defined" => Op::Defined,
            "not_defined" => Op::NotDefined,
            _ => return None,
        })
    }

    fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Gt | Op::Lte | Op::Gte)
    }
}

/// Value types of `<expression type="…">`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    Integer,
    Number,
    Version,
    /// A `type` Pacemaker does not know: every comparison reads as "equal".
    Unknown,
}

impl ValueType {
    pub fn parse(text: &str) -> Option<ValueType> {
        Some(match text {
            "string" => ValueType::String,
            "integer" => ValueType::Integer,
            "number" => ValueType::Number,
            "version" => ValueType::Version,
            _ => return None,
        })
    }
}

/// Evaluates `actual OP expected` (actual = the node attribute) with an optional
/// explicit type.
///
/// ```
/// use pacer_scheduler::rules::value::{compare, Op, ValueType};
/// assert!(compare(Op::Lt, None, Some("9"), Some("10")));       // integer by default
/// assert!(!compare(Op::Lt, Some(ValueType::String), Some("9"), Some("10")));
/// assert!(compare(Op::Eq, None, Some("ABC"), Some("abc")));     // case-insensitive
/// assert!(compare(Op::Ne, None, None, Some("x")));              // absent attribute
/// ```
pub fn compare(
    op: Op,
    ty: Option<ValueType>,
    actual: Option<&str>,
    expected: Option<&str>,
) -> bool {
    match op {
        Op::Defined => return actual.is_some(),
        Op::NotDefined => return actual.is_none(),
        _ => {}
    }
    let (a, e) = match (actual, expected) {
        (Some(a), Some(e)) => (a, e),
        (None, None) => return op == Op::Eq,
        _ => return op == Op::Ne,
    };
    let ty = ty.unwrap_or(if op.is_ordering() {
        if a.contains('.') || e.contains('.') {
            ValueType::Number
        } else {
            ValueType::Integer
        }
    } else {
        ValueType::String
    });
    let ord = match ty {
        ValueType::Integer => match (leading_integer(a), leading_integer(e)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => cmp_string(a, e),
        },
        ValueType::Number => match (leading_float(a), leading_float(e)) {
            // NaN compares as unordered; treat like Pacemaker's "neither < nor >".
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => cmp_string(a, e),
        },
        ValueType::Version => cmp_version(a, e),
        ValueType::String => cmp_string(a, e),
        ValueType::Unknown => Ordering::Equal,
    };
    match op {
        Op::Lt => ord == Ordering::Less,
        Op::Gt => ord == Ordering::Greater,
        Op::Lte => ord != Ordering::Greater,
        Op::Gte => ord != Ordering::Less,
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Defined | Op::NotDefined => unreachable!("handled above"),
    }
}

/// Case-insensitive (ASCII) byte order, like C's `strcasecmp`.
fn cmp_string(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Dotted numeric comparison; a missing part is 0.
fn cmp_version(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| -> Vec<i64> {
        s.split('.')
            .map(|p| leading_integer(p).unwrap_or(0))
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = (
            pa.get(i).copied().unwrap_or(0),
            pb.get(i).copied().unwrap_or(0),
        );
        match x.cmp(&y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

/// The leading floating-point number of `s`, like C's `strtod` (decimal with optional
/// exponent, or `inf`/`infinity`/`nan`); `None` when there is none.
pub(crate) fn leading_float(s: &str) -> Option<f64> {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let lower = t[i..].to_ascii_lowercase();
    for word in ["infinity", "inf", "nan"] {
        if lower.starts_with(word) {
            return t[..i + word.len()].parse().ok();
        }
    }
    let int_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        frac_digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    t[..i].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node attribute values of the oracle grid, in column order (None = attribute not
    /// set on that node).
    const VALS: &[Option<&str>] = &[
        Some("10"),
        Some("9"),
        Some("10.0"),
        Some("9.5"),
        Some("abc"),
        Some(""),
        Some("1e1"),
        Some(" 10"),
        Some("-5"),
        Some("1.2.3"),
        Some("1.10"),
        None,
        Some("ABC"),
        Some("10abc"),
    ];

    /// crm_simulate 2.1.5: one location rule `<expression attribute="a" operation=OP
    /// type=TYPE value=VALUE/>` per row, one node per column of VALS; T where the
    /// rule's score was applied.
    const GRID: &str = "
lt - 10 FTFTFTTFTTTFFF
lt - 9.5 FTFFFTFFTTTFFF
lt - abc TTTTFTTTTTTFFT
lt - 1.2 FFFFFTFFTFTFFF
gt - 10 FFFFTFFFFFFFTF
gt - 9.5 TFTFTFTTFFFFTT
gt - abc FFFFFFFFFFFFFF
gt - 1.2 TTTTTFTTFFFFTT
eq - 10 TFFFFFFFFFFFFF
eq - 9.5 FFFTFFFFFFFFFF
eq - abc FFFFTFFFFFFFTF
eq - 1.2 FFFFFFFFFFFFFF
ne - 10 FTTTTTTTTTTTTT
ne - 9.5 TTTFTTTTTTTTTT
ne - abc TTTTFTTTTTTTFT
ne - 1.2 TTTTTTTTTTTTTT
lte - 10 TTTTFTTTTTTFFT
lte - 9.5 FTFTFTFFTTTFFF
lte - abc TTTTTTTTTTTFTT
lte - 1.2 FFFFFTFFTTTFFF
gte - 10 TFTFTFFTFFFFTT
gte - 9.5 TFTTTFTTFFFFTT
gte - abc FFFFTFFFFFFFTF
gte - 1.2 TTTTTFTTFTFFTT
lt string 10 FFFFFTFTTTTFFF
lt string 9.5 TTTFFTTTTTTFFT
lt string abc TTTTFTTTTTTFFT
lt string 1.2 FFFFFTFTTFTFFF
gt string 10 FTTTTFTFFFFFTT
gt string 9.5 FFFFTFFFFFFFTF
gt string abc FFFFFFFFFFFFFF
gt string 1.2 TTTTTFTFFTFFTT
eq string 10 TFFFFFFFFFFFFF
eq string 9.5 FFFTFFFFFFFFFF
eq string abc FFFFTFFFFFFFTF
eq string 1.2 FFFFFFFFFFFFFF
ne string 10 FTTTTTTTTTTTTT
ne string 9.5 TTTFTTTTTTTTTT
ne string abc TTTTFTTTTTTTFT
ne string 1.2 TTTTTTTTTTTTTT
lte string 10 TFFFFTFTTTTFFF
lte string 9.5 TTTTFTTTTTTFFT
lte string abc TTTTTTTTTTTFTT
lte string 1.2 FFFFFTFTTFTFFF
gte string 10 TTTTTFTFFFFFTT
gte string 9.5 FFFTTFFFFFFFTF
gte string abc FFFFTFFFFFFFTF
gte string 1.2 TTTTTFTFFTFFTT
lt integer 10 FTFTFTTFTTTFFF
lt integer 9.5 FFFFFTTFTTTFFF
lt integer abc TTTTFTTTTTTFFT
lt integer 1.2 FFFFFTFFTFFFFF
gt integer 10 FFFFTFFFFFFFTF
gt integer 9.5 TFTFTFFTFFFFTT
gt integer abc FFFFFFFFFFFFFF
gt integer 1.2 TTTTTFFTFFFFTT
eq integer 10 TFTFFFFTFFFFFT
eq integer 9.5 FTFTFFFFFFFFFF
eq integer abc FFFFTFFFFFFFTF
eq integer 1.2 FFFFFFTFFTTFFF
ne integer 10 FTFTTTTFTTTTTF
ne integer 9.5 TFTFTTTTTTTTTT
ne integer abc TTTTFTTTTTTTFT
ne integer 1.2 TTTTTTFTTFFTTT
lte integer 10 TTTTFTTTTTTFFT
lte integer 9.5 FTFTFTTFTTTFFF
lte integer abc TTTTTTTTTTTFTT
lte integer 1.2 FFFFFTTFTTTFFF
gte integer 10 TFTFTFFTFFFFTT
gte integer 9.5 TTTTTFFTFFFFTT
gte integer abc FFFFTFFFFFFFTF
gte integer 1.2 TTTTTFTTFTTFTT
lt number 10 FTFTFTFFTTTFFF
lt number 9.5 FTFFFTFFTTTFFF
lt number abc TTTTFTTTTTTFFT
lt number 1.2 FFFFFTFFTFTFFF
gt number 10 FFFFTFFFFFFFTF
gt number 9.5 TFTFTFTTFFFFTT
gt number abc FFFFFFFFFFFFFF
gt number 1.2 TTTTTFTTFFFFTT
eq number 10 TFTFFFTTFFFFFT
eq number 9.5 FFFTFFFFFFFFFF
eq number abc FFFFTFFFFFFFTF
eq number 1.2 FFFFFFFFFTFFFF
ne number 10 FTFTTTFFTTTTTF
ne number 9.5 TTTFTTTTTTTTTT
ne number abc TTTTFTTTTTTTFT
ne number 1.2 TTTTTTTTTFTTTT
lte number 10 TTTTFTTTTTTFFT
lte number 9.5 FTFTFTFFTTTFFF
lte number abc TTTTTTTTTTTFTT
lte number 1.2 FFFFFTFFTTTFFF
gte number 10 TFTFTFTTFFFFTT
gte number 9.5 TFTTTFTTFFFFTT
gte number abc FFFFTFFFFFFFTF
gte number 1.2 TTTTTFTTFTFFTT
lt integer 0x10 FFFFFTFFTFFFFF
eq integer +10 TFTFFFFTFFFFFT
lt number inf TTTTTTTTTTTFTT
";

    #[test]
    fn grid_matches_crm_simulate() {
        let mut rows = 0;
        for line in GRID.lines().filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split(' ').collect();
            let op = Op::parse(f[0]).unwrap();
            let ty = if f[1] == "-" {
                None
            } else {
                Some(ValueType::parse(f[1]).unwrap())
            };
            for (i, want) in f[3].chars().enumerate() {
                let got = compare(op, ty, VALS[i], Some(f[2]));
                assert_eq!(
                    got,
                    want == 'T',
                    "{} {} {:?} vs node value {:?}",
                    f[0],
                    f[1],
                    f[2],
                    VALS[i]
                );
            }
            rows += 1;
        }
        assert_eq!(rows, 99);
    }

    /// Rows without a `value` attribute, and `defined`/`not_defined`.
    #[test]
    fn absent_values_match_crm_simulate() {
        let cases = [
            (Op::Defined, "TTTTTTTTTTTFTT"),
            (Op::NotDefined, "FFFFFFFFFFFTFF"),
            (Op::Eq, "FFFFFFFFFFFTFF"),
            (Op::Ne, "TTTTTTTTTTTFTT"),
            (Op::Lt, "FFFFFFFFFFFFFF"),
        ];
        for (op, want) in cases {
            for (i, w) in want.chars().enumerate() {
                assert_eq!(
                    compare(op, None, VALS[i], None),
                    w == 'T',
                    "{op:?} {:?}",
                    VALS[i]
                );
            }
        }
    }

    /// Version rows; node values extend VALS with 1.2, 1.2.0, 01.2, 1.02 (the oracle
    /// hangs on "10abc" against "10" and on "abc" as the expression value, so those are
    /// left out).
    #[test]
    fn versions_match_crm_simulate() {
        let vals: Vec<Option<&str>> = VALS
            .iter()
            .copied()
            .chain(["1.2", "1.2.0", "01.2", "1.02"].map(Some))
            .collect();
        let cases = [
            (Op::Lt, "1.2", "FFFFTTTFTFFFTFFFFF"),
            (Op::Eq, "1.2", "FFFFFFFFFFFFFFTTTT"),
            (Op::Gt, "1.2", "TTTTFFFTFTTFFTFFFF"),
            (Op::Lte, "1.2", "FFFFTTTFTFFFTFTTTT"),
            (Op::Gt, "9.5", "TFTFFFFTFFFFFTFFFF"),
            (Op::Lte, "9.5", "FTFTTTTFTTTFTFTTTT"),
            (Op::Gt, "1.2.10", "TTTTFFFTFFTFFTFFFF"),
            (Op::Lte, "1.2.10", "FFFFTTTFTTFFTFTTTT"),
        ];
        for (op, value, want) in cases {
            for (i, w) in want.chars().enumerate() {
                let got = compare(op, Some(ValueType::Version), vals[i], Some(value));
                assert_eq!(got, w == 'T', "{op:?} {value} vs {:?}", vals[i]);
            }
        }
        // lt 10, checked value by value (except the hanging "10abc").
        let lt10 = [
            ("10", false),
            ("9", true),
            ("10.0", false),
            ("9.5", true),
            ("abc", true),
            ("", true),
            ("1e1", true),
            (" 10", false),
            ("-5", true),
            ("1.2.3", true),
            ("1.10", true),
            ("ABC", true),
        ];
        for (v, want) in lt10 {
            assert_eq!(
                compare(Op::Lt, Some(ValueType::Version), Some(v), Some("10")),
                want,
                "{v:?} lt 10"
            );
        }
    }

    #[test]
    fn leading_float_reads_like_strtod() {
        assert_eq!(leading_float("1e1"), Some(10.0));
        assert_eq!(leading_float("1.2.3"), Some(1.2));
        assert_eq!(leading_float(" -5x"), Some(-5.0));
        assert_eq!(leading_float(".5"), Some(0.5));
        assert_eq!(leading_float("5."), Some(5.0));
        assert_eq!(leading_float("1e"), Some(1.0));
        assert_eq!(leading_float("INF"), Some(f64::INFINITY));
        assert_eq!(leading_float("abc"), None);
        assert_eq!(leading_float("."), None);
        assert_eq!(leading_float(""), None);
    }
}
