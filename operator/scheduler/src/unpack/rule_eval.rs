//! The evaluation context unpacking hands to the [`crate::rules`] module ("now"),
//! plus the civil-date arithmetic `simulate` uses for crm_simulate's date forms.

pub struct Ctx {
    pub now: i64,
}

impl Ctx {
    pub fn new(now: i64) -> Self {
        Ctx { now }
    }

    /// A rules-module context at this "now" (no node; callers add one).
    pub fn rule_context(&self) -> crate::rules::RuleContext<'static> {
        crate::rules::RuleContext::new().at(crate::rules::DateTime::from_epoch(self.now))
    }
}

/// Days since 1970-01-01 for a civil date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
    }
}
