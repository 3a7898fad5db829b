//! Pacemaker scores: integers saturating at ±INFINITY (1 000 000), where -INFINITY
//! always wins over +INFINITY ("can never run there" beats "must run there").

pub const INFINITY: i64 = 1_000_000;

/// Add two scores with Pacemaker's saturation rules.
pub fn add(a: i64, b: i64) -> i64 {
    if a <= -INFINITY || b <= -INFINITY {
        -INFINITY
    } else if a >= INFINITY || b >= INFINITY {
        INFINITY
    } else {
        (a + b).clamp(-INFINITY, INFINITY)
    }
}

/// Parse a score string ("INFINITY", "+INFINITY", "-INFINITY", "100", "1.0").
/// Returns `None` when the text is not a score at all.
pub fn parse(s: &str) -> Option<i64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" => return Some(INFINITY),
        "-infinity" => return Some(-INFINITY),
        "red" | "yellow" | "green" => return None,
        _ => {}
    }
    if let Ok(v) = t.parse::<i64>() {
        return Some(v.clamp(-INFINITY, INFINITY));
    }
    // Pacemaker accepts a leading integer ("1.0" → 1).
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    t[..end]
        .parse::<i64>()
        .ok()
        .map(|v| v.clamp(-INFINITY, INFINITY))
}

/// Render a score as crm_simulate prints it.
pub fn render(v: i64) -> String {
    if v >= INFINITY {
        "INFINITY".into()
    } else if v <= -INFINITY {
        "-INFINITY".into()
    } else {
        v.to_string()
    }
}

/// Scale a dependent's preference by a colocation factor (`score / INFINITY`),
/// keeping a non-zero preference non-zero so ties are still broken by it.
pub fn scale(w: i64, factor: f64) -> i64 {
    if w >= INFINITY || w <= -INFINITY {
        if factor >= 1.0 {
            return w;
        }
        if factor <= -1.0 {
            return -w;
        }
    }
    let v = w as f64 * factor;
    let r = v as i64;
    if r == 0 && v != 0.0 {
        if v > 0.0 { 1 } else { -1 }
    } else {
        r.clamp(-INFINITY, INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_infinity_wins() {
        assert_eq!(add(INFINITY, -INFINITY), -INFINITY);
        assert_eq!(add(INFINITY, 5), INFINITY);
        assert_eq!(add(999_999, 5), INFINITY);
        assert_eq!(add(3, -5), -2);
    }

    #[test]
    fn parses_scores() {
        assert_eq!(parse("INFINITY"), Some(INFINITY));
        assert_eq!(parse("-infinity"), Some(-INFINITY));
        assert_eq!(parse("1.0"), Some(1));
        assert_eq!(parse("abc"), None);
    }

    #[test]
    fn scaling_keeps_sign() {
        assert_eq!(scale(50, 0.0001), 1);
        assert_eq!(scale(-INFINITY, 1.0), -INFINITY);
        assert_eq!(scale(20, 0.5), 10);
    }
}
