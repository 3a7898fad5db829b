//! Rule-level tests: whole `<rule>` elements evaluated like crm_simulate / crm_rule
//! 2.1.5 did on the same XML (expectations measured with those tools, then frozen
//! here), plus a walk over every rule in the Pacemaker conformance cases.

use std::collections::BTreeMap;

use super::*;

fn doc(xml: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("test XML: {e}\n{xml}"))
}

fn at(date: &str) -> DateTime {
    DateTime::parse(date).unwrap_or_else(|e| panic!("{e}"))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const SPEC_FIELDS: &[&str] = &[
    r##"years="2005""##,
    r##"years="2004-2005""##,
    r##"years="2006-""##,
    r##"months="2""##,
    r##"months="11-""##,
    r##"monthdays="29""##,
    r##"monthdays="1-7""##,
    r##"monthdays="-3""##,
    r##"hours="9-16""##,
    r##"hours="0""##,
    r##"hours="23""##,
    r##"minutes="30-59""##,
    r##"minutes="0""##,
    r##"seconds="0-29""##,
    r##"weekdays="1-5""##,
    r##"weekdays="6-7""##,
    r##"weekdays="7""##,
    r##"yeardays="1-31""##,
    r##"yeardays="60""##,
    r##"yeardays="366""##,
    r##"yeardays="300-""##,
    r##"weeks="1""##,
    r##"weeks="53""##,
    r##"weeks="52-""##,
    r##"weekyears="2004""##,
    r##"weekyears="2009""##,
    r##"weekyears="2004" weeks="53""##,
    r##"moon="0""##,
    r##"moon="1""##,
    r##"moon="2""##,
    r##"moon="3""##,
    r##"moon="4""##,
    r##"moon="5""##,
    r##"moon="6""##,
    r##"moon="7""##,
    r##"moon="4-""##,
    r##"hours="9-16" weekdays="1-5""##,
    r##"weekdays="5" monthdays="13""##,
    r##"months="2" monthdays="29""##,
    r##"years="2008" weeks="1" weekdays="1""##,
];

/// (now as given to `crm_simulate -t`, T/F per SPEC_FIELDS entry).
const SPEC_GRID: &[(&str, &str)] = &[
    (
        "2004-12-31 23:59:59",
        "FTFFTFFFFFTTFFTFFFFTTFTTTFTFFFFFTFFTFFFF",
    ),
    (
        "2005-01-01 00:00:00",
        "TTFFFFTTFTFFTTFTFTFFFFTTTFTFFFFFTFFTFFFF",
    ),
    (
        "2005-01-02 12:00:00",
        "TTFFFFTTTFFFTTFTTTFFFFTTTFTFFFFFFTFTFFFF",
    ),
    (
        "2005-01-03 09:00:00",
        "TTFFFFTTTFFFTTTFFTFFFTFFFFFFFFFFFTFTTFFF",
    ),
    (
        "2008-12-29 16:59:59",
        "FFTFTTFFTFFTFFTFFFFFTTFFFTFFTFFFFFFFTFFT",
    ),
    (
        "2009-01-01 17:00:00",
        "FFTFFFTTFFFFTTTFFTFFFTFFFTFFTFFFFFFFFFFF",
    ),
    (
        "2004-02-29 10:30:00",
        "FTFTFTFFTFFTFTFTTFTFFFFFTFFFFTFFFFFFFFTF",
    ),
    (
        "2008-02-29 08:00:30",
        "FFTTFTFFFFFFTFTFFFTFFFFFFFFFFFFFFTFTFFTF",
    ),
    (
        "2004-12-31 12:00:00",
        "FTFFTFFFTFFFTTTFFFFTTFTTTFTFFFFFTFFTTFFF",
    ),
    (
        "2005-12-31 12:00:00",
        "TTFFTFFFTFFFTTFTFFFFTFFTFFFTFFFFFFFFFFFF",
    ),
    (
        "2010-01-03 23:00:00",
        "FFTFFFTTFFTFTTFTTTFFFFTTFTFFFFFFTFFTFFFF",
    ),
    (
        "2010-01-04 00:00:00",
        "FFTFFFTFFTFFTTTFFTFFFTFFFFFFFFFFTFFTFFFF",
    ),
    (
        "2026-11-23 01:30:00",
        "FFTFTFFFFFFTFTTFFFFFTFFFFFFFFFFTFFFTFFFF",
    ),
    (
        "2020-12-31 13:13:13",
        "FFTFTFFFTFFFFTTFFFFTTFTTFFFFFFFFTFFTTFFF",
    ),
    (
        "2021-01-01 09:15:45",
        "FFTFFFTTTFFFFFTFFTFFFFTTFFFFFFFFTFFTTFFF",
    ),
    (
        "2005-03-13 11:00:00 +05:00",
        "TTFFFFFFTFFFTTFTTFFFFFFFFFFFTFFFFFFFFFFF",
    ),
    (
        "2009-02-13 23:31:30",
        "FFTTFFFFFFTTFFTFFFFFFFFFFTFFFFFFTFFTFTFF",
    ),
    (
        "2005-05-13 10:00:00",
        "TTFFFFFFTFFFTTTFFFFFFFFFFFFFTFFFFFFFTTFF",
    ),
    (
        "2019-03-13 20:03:04",
        "FFTFFFFFFFFFFTTFFFFFFFFFFFFFFTFFFFFFFFFF",
    ),
    (
        "2005-06-19 01:58:32",
        "TTFFFFFFFFFTFFFTTFFFFFFFFFFFFFTFFFFFFFFF",
    ),
    (
        "2012-01-03 13:26:04",
        "FFTFFFTTTFFFFTTFFTFFFTFFFFFFFTFFFFFFTFFF",
    ),
    (
        "2014-02-18 13:03:52",
        "FFTTFFFFTFFFFFTFFFFFFFFFFFFFFFFFTFFTTFFF",
    ),
    (
        "2006-04-21 20:37:03",
        "FFTFFFFFFFFTFTTFFFFFFFFFFFFFFFFFFTFTFFFF",
    ),
    (
        "2024-01-08 01:35:54",
        "FFTFFFFFFFFTFFTFFTFFFFFFFFFFFFFFFFTTFFFF",
    ),
    (
        "2007-05-14 04:34:07",
        "FFTFFFFFFFFTFTTFFFFFFFFFFFFFFFFFFFTTFFFF",
    ),
    (
        "2018-09-27 21:11:06",
        "FFTFFFFFFFFFFTTFFFFFFFFFFFFFFFFFTFFTFFFF",
    ),
    (
        "2011-06-04 17:45:04",
        "FFTFFFTFFFFTFTFTFFFFFFFFFFFFTFFFFFFFFFFF",
    ),
    (
        "2002-10-07 15:43:34",
        "FFFFFFTFTFFTFFTFFFFFFFFFFFFTFFFFFFFFTFFF",
    ),
    (
        "2026-06-15 18:59:29",
        "FFTFFFFFFFFTFTTFFFFFFFFFFFFTFFFFFFFFFFFF",
    ),
    (
        "2022-05-08 05:44:49",
        "FFTFFFFFFFFTFFFTTFFFFFFFFFFFFTFFFFFFFFFF",
    ),
    (
        "2014-02-19 09:33:31",
        "FFTTFFFFTFFTFFTFFFFFFFFFFFFFFFFFTFFTTFFF",
    ),
    (
        "2020-12-15 09:38:04",
        "FFTFTFFFTFFTFTTFFFFFTFFFFFFTFFFFFFFFTFFF",
    ),
    (
        "2006-09-14 05:48:21",
        "FFTFFFFFFFFTFTTFFFFFFFFFFFFFFFFFFTFTFFFF",
    ),
    (
        "2008-08-14 01:42:04",
        "FFTFFFFFFFFTFTTFFFFFFFFFFFFFFFFTFFFTFFFF",
    ),
    (
        "2019-06-23 11:38:31",
        "FFTFFFFFTFFTFFFTTFFFFFFFFFFFFFFFFTFTFFFF",
    ),
    (
        "2028-02-27 02:17:30",
        "FFTTFFFFFFFFFFFTTFFFFFFFFFFFTFFFFFFFFFFF",
    ),
    (
        "2003-01-24 22:19:41",
        "FFFFFFFFFFFFFFTFFTFFFFFFFFFFFFFFFTFTFFFF",
    ),
    (
        "2027-05-23 12:56:42",
        "FFTFFFFFTFFTFFFTTFFFFFFFFFFFFFFFTFFTFFFF",
    ),
    (
        "2021-01-15 11:10:39",
        "FFTFFFFFTFFFFFTFFTFFFFFFFFFTFFFFFFFFTFFF",
    ),
    (
        "2006-08-02 06:49:18",
        "FFTFFFTTFFFTFTTFFFFFFFFFFFFFFTFFFFFFFFFF",
    ),
    (
        "2007-12-08 12:25:58",
        "FFTFTFFFTFFFFFFTFFFFTFFFFFFTFFFFFFFFFFFF",
    ),
    (
        "2030-02-06 14:25:35",
        "FFTTFFTFTFFFFFTFFFFFFFFFFFFFTFFFFFFFTFFF",
    ),
    (
        "2016-03-27 13:55:35",
        "FFTFFFFFTFFTFFFTTFFFFFFFFFFFFFFFTFFTFFFF",
    ),
    (
        "2016-12-14 11:43:56",
        "FFTFTFFFTFFTFFTFFFFFTFFFFFFFFFFTFFFTTFFF",
    ),
    (
        "2023-04-05 02:11:09",
        "FFTFFFTFFFFFFTTFFFFFFFFFFFFFFFFTFFFTFFFF",
    ),
    (
        "2013-11-08 00:31:53",
        "FFTFTFFFFTFTFFTFFFFFTFFFFFFFTFFFFFFFFFFF",
    ),
    (
        "2010-05-10 00:09:26",
        "FFTFFFFFFTFFFTTFFFFFFFFFFFFFFFFFFFTTFFFF",
    ),
    (
        "2022-10-19 10:08:44",
        "FFTFFFFFTFFFFFTFFFFFFFFFFFFFFFFFFFTTTFFF",
    ),
];

/// Each SPEC_FIELDS entry as a location rule with `crm_simulate -t DATE`; T where
/// the rule's score was applied.
#[test]
fn date_spec_grid_matches_crm_simulate() {
    let mut checked = 0;
    for (date, want) in SPEC_GRID {
        let ctx = RuleContext::new().at(at(date));
        for (spec, w) in SPEC_FIELDS.iter().zip(want.chars()) {
            let xml = format!(
                r##"<rule id="r" score="1"><date_expression id="d" operation="date_spec"><date_spec id="s" {spec}/></date_expression></rule>"##
            );
            let d = doc(&xml);
            let out = evaluate_rule(d.root_element(), &ctx);
            assert_eq!(out.matched, w == 'T', "date_spec {spec} at {date}");
            assert!(out.problems.is_empty(), "{:?}", out.problems);
            assert_eq!(out.next_change, None, "date_spec has no re-check time");
            checked += 1;
        }
    }
    assert_eq!(checked, SPEC_GRID.len() * SPEC_FIELDS.len());
}

/// Odd date_spec values: crm_simulate ignores a field it cannot read.
#[test]
fn date_spec_odd_values_match_crm_simulate() {
    // (spec, [09:00, 08:59:59, 16:59:59, 17:00, Sat 10:00, 02:00, 23:00] on 2005-01-20/22)
    let dates = [
        "2005-01-20 09:00:00",
        "2005-01-20 08:59:59",
        "2005-01-20 16:59:59",
        "2005-01-20 17:00:00",
        "2005-01-22 10:00:00",
        "2005-01-20 02:00:00",
        "2005-01-20 23:00:00",
    ];
    let cases = [
        (r##"hours="9-""##, "TFTTTFT"),
        (r##"hours="-9""##, "TTFFFTF"),
        (r##"hours="16-9""##, "FFFFFFF"),
        (r##"hours="x""##, "TTTTTTT"),
        (r##"hours="1,2""##, "TTTTTTT"),
        (r##"hours=" 9""##, "TFFFFFF"),
        (r##"hours="09""##, "TFFFFFF"),
        (r##"hours="25""##, "FFFFFFF"),
        (r##"hours="""##, "TTTTTTT"),
        (r##"hours="9 - 16""##, "TTTTTTT"),
        (r##"hours="9x""##, "TTTTTTT"),
        (r##"hours="x" weekdays="6""##, "FFFFTFF"),
        (r##"yearsdays="20""##, "TTTTTTT"),
    ];
    for (spec, want) in cases {
        for (date, w) in dates.iter().zip(want.chars()) {
            let xml = format!(
                r##"<rule id="r" score="1"><date_expression id="d" operation="date_spec"><date_spec id="s" {spec}/></date_expression></rule>"##
            );
            let d = doc(&xml);
            let out = evaluate_rule(d.root_element(), &RuleContext::new().at(at(date)));
            assert_eq!(out.matched, w == 'T', "{spec} at {date}");
        }
    }
    // A field Pacemaker ignores is reported.
    let d = doc(
        r##"<rule id="r"><date_expression id="d" operation="date_spec"><date_spec id="s" hours="9x"/></date_expression></rule>"##,
    );
    let out = evaluate_rule(
        d.root_element(),
        &RuleContext::new().at(at("2005-01-20 01:00:00")),
    );
    assert!(out.matched);
    assert_eq!(out.problems.len(), 1);
    assert!(
        out.problems[0].to_string().contains("hours=\"9x\""),
        "{}",
        out.problems[0]
    );
}

/// date_spec matches the civil fields of "now" in the offset it was given in.
#[test]
fn date_spec_uses_the_offset_of_now() {
    let d = doc(
        r##"<rule id="r"><date_expression id="d" operation="date_spec"><date_spec id="s" hours="9-16"/></date_expression></rule>"##,
    );
    let rule = d.root_element();
    assert!(
        evaluate_rule(
            rule,
            &RuleContext::new().at(at("2005-01-20 10:00:00 +05:00"))
        )
        .matched
    );
    assert!(
        !evaluate_rule(
            rule,
            &RuleContext::new().at(at("2005-01-20 05:00:00 +05:00"))
        )
        .matched
    );
}

const DATE_RULES: &str = r##"<rules>
 <rule id="gt"><date_expression id="gte" operation="gt" start="2005-01-20 12:00:00"/></rule>
 <rule id="lt"><date_expression id="lte" operation="lt" end="2005-01-20 12:00:00"/></rule>
 <rule id="ir_end"><date_expression id="ie" operation="in_range" end="2005-01-20 12:00:00"/></rule>
 <rule id="ir_start"><date_expression id="is" operation="in_range" start="2005-01-20 12:00:00"/></rule>
 <rule id="ir_dur"><date_expression id="id" operation="in_range" start="2005-01-20 12:00:00"><duration id="d" hours="1"/></date_expression></rule>
 <rule id="ir_both"><date_expression id="ib" operation="in_range" start="2005-01-20 12:00:00" end="2005-01-20 12:00:10"><duration id="d2" hours="1"/></date_expression></rule>
 <rule id="ir_donly"><date_expression id="ido" operation="in_range"><duration id="d3" hours="1"/></date_expression></rule>
 <rule id="ir_none"><date_expression id="ino" operation="in_range"/></rule>
 <rule id="gt_nostart"><date_expression id="gn" operation="gt" end="2005-01-20 12:00:00"/></rule>
 <rule id="bad"><date_expression id="bd" operation="in_range" start="garbage"/></rule>
 <rule id="badop"><date_expression id="bo" operation="eq" start="2005-01-20 12:00:00"/></rule>
</rules>"##;

/// `crm_rule -c -r ID -d DATE`: 0 = in effect, 110 = expired, 111 = not yet in
/// effect, 112 = error. Columns: 11:59:59, 12:00:00, 12:00:01, 12:00:10, 12:00:11,
/// 13:00:00, 13:00:01 on 2005-01-20.
#[test]
fn date_expressions_match_crm_rule() {
    let dates = [
        "11:59:59", "12:00:00", "12:00:01", "12:00:10", "12:00:11", "13:00:00", "13:00:01",
    ];
    let table: &[(&str, [u8; 7])] = &[
        ("gt", [111, 111, 0, 0, 0, 0, 0]),
        ("lt", [0, 110, 110, 110, 110, 110, 110]),
        ("ir_end", [0, 0, 110, 110, 110, 110, 110]),
        ("ir_start", [111, 0, 0, 0, 0, 0, 0]),
        ("ir_dur", [111, 0, 0, 0, 0, 0, 110]),
        ("ir_both", [111, 0, 0, 0, 110, 110, 110]),
        ("ir_donly", [112; 7]),
        ("ir_none", [112; 7]),
        ("gt_nostart", [112; 7]),
        ("bad", [112; 7]),
        ("badop", [112; 7]),
    ];
    let d = doc(DATE_RULES);
    for (id, codes) in table {
        let rule = d
            .descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap();
        for (time, code) in dates.iter().zip(codes) {
            let now = at(&format!("2005-01-20 {time}"));
            let out = evaluate_rule(rule, &RuleContext::new().at(now));
            assert_eq!(out.matched, *code == 0, "{id} at {time}");
            assert_eq!(
                !out.problems.is_empty(),
                *code == 112,
                "{id} at {time}: {:?}",
                out.problems
            );
            // "not yet in effect" always has a future change; "expired" never does.
            if *code == 111 {
                assert!(out.next_change.is_some_and(|t| t > now), "{id} at {time}");
            }
            if *code == 110 {
                assert_eq!(out.next_change, None, "{id} at {time}");
            }
            // Whatever the answer, it holds until the re-check time.
            if let Some(t) = out.next_change {
                let before = evaluate_rule(rule, &RuleContext::new().at(t.add_seconds(-1)));
                let after = evaluate_rule(rule, &RuleContext::new().at(t));
                assert_eq!(before.matched, out.matched, "{id}: unchanged until {t}");
                assert_ne!(after.matched, out.matched, "{id}: flips at {t}");
            }
        }
    }
}

/// `<duration>` elements, crm_rule at the last second inside and the first outside.
#[test]
fn durations_match_crm_rule() {
    let cases = [
        ("2005-01-31", r##"months="1""##, "2005-02-28 00:00:00"),
        ("2004-03-01", r##"years="1""##, "2005-03-02 00:00:00"),
        ("2004-02-29", r##"years="1""##, "2005-03-01 00:00:00"),
        ("2005-01-01", r##"weeks="1""##, "2005-01-08 00:00:00"),
        (
            "2005-01-01",
            r##"days="1" hours="1""##,
            "2005-01-02 01:00:00",
        ),
        (
            "2005-01-30",
            r##"months="1" days="1""##,
            "2005-03-01 00:00:00",
        ),
        (
            "2005-01-01",
            r##"minutes="90" seconds="30""##,
            "2005-01-01 01:30:30",
        ),
        ("2005-01-01", r##"days="1x""##, "2005-01-02 00:00:00"),
        ("2005-01-01", r##"days="1.5""##, "2005-01-02 00:00:00"),
        ("2005-01-01", r##"yeardays="5""##, "2005-01-01 00:00:00"),
        ("2005-01-01", "", "2005-01-01 00:00:00"),
    ];
    for (start, attrs, last) in cases {
        let xml = format!(
            r##"<rule id="r"><date_expression id="e" operation="in_range" start="{start}"><duration id="d" {attrs}/></date_expression></rule>"##
        );
        let d = doc(&xml);
        let last = at(last);
        let eval = |t: DateTime| evaluate_rule(d.root_element(), &RuleContext::new().at(t)).matched;
        assert!(eval(last), "{start} + {attrs}: in effect at {last}");
        assert!(
            !eval(last.add_seconds(1)),
            "{start} + {attrs}: expired after {last}"
        );
    }
    // A negative duration ends before it starts: never in effect.
    let d = doc(
        r##"<rule id="r"><date_expression id="e" operation="in_range" start="2005-01-10"><duration id="d" days="-1"/></date_expression></rule>"##,
    );
    for t in [
        "2005-01-09 00:00:00",
        "2005-01-10 00:00:00",
        "2005-01-10 00:00:01",
    ] {
        assert!(
            !evaluate_rule(d.root_element(), &RuleContext::new().at(at(t))).matched,
            "{t}"
        );
    }
}

/// Location rules on two nodes, compared with crm_simulate's allocation scores
/// (cluster-name "cx"; resource params p=n1v, meta m=n2v).
#[test]
fn location_rules_match_crm_simulate() {
    let n1 = builtin_node_attributes(
        map(&[("sa", "n1v"), ("sc", "INFINITY")]),
        "n1",
        "1",
        "cluster",
        false,
        Some("cx"),
    );
    let n2 = builtin_node_attributes(
        map(&[("sa", "n2v"), ("sb", "12"), ("sc", "-5")]),
        "n2",
        "2",
        "cluster",
        false,
        Some("cx"),
    );
    let params = map(&[("p", "n1v")]);
    let meta = map(&[("m", "n2v")]);
    let e = r##"<expression id="e" attribute="#uname" operation="eq" value="n1"/>"##;
    let f = r##"<expression id="f" attribute="#uname" operation="eq" value="zz"/>"##;
    let cases: Vec<(String, &str, &str)> = vec![
        (format!(r##"<rule id="r" score-attribute="sa">{e}</rule>"##), "0", "0"),
        (format!(r##"<rule id="r" score-attribute="sb">{e}</rule>"##), "-INFINITY", "0"),
        (format!(r##"<rule id="r" score-attribute="sc">{e}</rule>"##), "INFINITY", "0"),
        (format!(r##"<rule id="r">{e}</rule>"##), "0", "0"),
        (r##"<rule id="r" score="7"></rule>"##.into(), "7", "7"),
        (format!(r##"<rule id="r" score="7" boolean-op="xor">{e}{f}</rule>"##), "0", "0"),
        (format!(r##"<rule id="r" score="7" boolean-op="or">{e}{f}</rule>"##), "7", "0"),
        (format!(r##"<rule id="r" score="7" boolean-op="OR">{e}{f}</rule>"##), "7", "0"),
        (r##"<rule id="r" score="7"><date_expression id="d" operation="in_range" start="garbage"/></rule>"##.into(), "0", "0"),
        (format!(r##"<rule id="r" score="7" boolean-op="or"><date_expression id="d" operation="in_range" start="garbage"/>{e}</rule>"##), "7", "0"),
        (format!(r##"<rule id="r" score="7"><rule id="nr" score="-INFINITY">{e}</rule></rule>"##), "7", "0"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="#uname" operation="bogus" value="n1"/></rule>"##.into(), "0", "0"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="#uname" operation="eq" value="n1" type="bogus"/></rule>"##.into(), "7", "7"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="#id" operation="eq" value="1"/></rule>"##.into(), "7", "0"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="#kind" operation="eq" value="cluster"/></rule>"##.into(), "7", "7"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="#is_dc" operation="eq" value="false"/></rule>"##.into(), "7", "7"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="#cluster-name" operation="eq" value="cx"/></rule>"##.into(), "7", "7"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="#site-name" operation="eq" value="cx"/></rule>"##.into(), "7", "7"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="sa" operation="eq" value="p" value-source="param"/></rule>"##.into(), "7", "0"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="sa" operation="eq" value="m" value-source="meta"/></rule>"##.into(), "0", "7"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="sa" operation="eq" value="nosuch" value-source="param"/></rule>"##.into(), "0", "0"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="sb" operation="eq" value="nosuch" value-source="param"/></rule>"##.into(), "7", "0"),
        (r##"<rule id="r" score="7"><expression id="x" attribute="#uname" operation="eq"/></rule>"##.into(), "0", "0"),
        (r##"<rule id="r" score="7"><expression id="x" operation="defined"/></rule>"##.into(), "0", "0"),
        (r##"<rule id="r" score="7"><rsc_expression id="x" class="ocf" provider="heartbeat" type="Dummy"/></rule>"##.into(), "0", "0"),
        (r##"<rule id="r" score="7"><op_expression id="x" name="monitor"/></rule>"##.into(), "0", "0"),
        (format!(r##"<rule id="r" score="7" score-attribute="sa">{e}</rule>"##), "7", "0"),
        (r##"<rule id="r" score="7"><date_expression id="d" operation="date_spec"><date_spec id="s" hours="x"/></date_expression></rule>"##.into(), "7", "7"),
        (r##"<rule id="r" score="7"><date_expression id="d" operation="date_spec"/></rule>"##.into(), "7", "7"),
    ];
    for (xml, want1, want2) in &cases {
        let d = doc(xml);
        for (node, want) in [(&n1, want1), (&n2, want2)] {
            let ctx = RuleContext::new()
                .with_node(node)
                .at(at("2005-01-20 10:00:00"))
                .with_params(&params)
                .with_meta(&meta);
            let got = location_rule(d.root_element(), &ctx).unwrap_or(Score::ZERO);
            assert_eq!(got.to_string(), *want, "{xml} on {}", node["#uname"]);
        }
    }
}

/// rsc_expression in rsc_defaults for ocf:heartbeat:Dummy (crm_simulate: whether a
/// target-role=Stopped default guarded by the rule stopped the resource).
#[test]
fn rsc_expressions_match_crm_simulate() {
    let cases = [
        (r##"class="ocf" provider="heartbeat" type="Dummy""##, true),
        (r##"class="ocf""##, false),
        (r##"type="Dummy""##, false),
        (r##"provider="heartbeat""##, true),
        (r##"class="ocf" provider="heartbeat""##, true),
        (r##"class="ocf" type="Dummy""##, false),
        (r##"class="OCF" provider="heartbeat" type="dummy""##, false),
        (r##"class="ocf" provider="pacemaker""##, false),
    ];
    let ctx = RuleContext::new().at(at("2005-01-20 10:00:00")).with_rsc(
        "ocf",
        Some("heartbeat"),
        "Dummy",
    );
    for (attrs, want) in cases {
        let xml = format!(r##"<rule id="r" score="0"><rsc_expression id="e" {attrs}/></rule>"##);
        let d = doc(&xml);
        assert_eq!(
            evaluate_rule(d.root_element(), &ctx).matched,
            want,
            "{attrs}"
        );
    }
    // Agents without a provider match an expression without one.
    let d =
        doc(r##"<rule id="r"><rsc_expression id="e" class="stonith" type="fence_xvm"/></rule>"##);
    let fence = RuleContext::new().with_rsc("stonith", None, "fence_xvm");
    assert!(evaluate_rule(d.root_element(), &fence).matched);
}

/// In rsc_defaults and resource meta-attributes there are no node attributes:
/// crm_simulate treats every node expression as false, even not_defined and ne.
#[test]
fn node_expressions_without_a_node_are_false() {
    let ctx = RuleContext::new().at(at("2005-01-20 10:00:00")).with_rsc(
        "ocf",
        Some("heartbeat"),
        "Dummy",
    );
    for body in [
        r##"<expression id="e" attribute="bar" operation="not_defined"/>"##,
        r##"<expression id="e" attribute="foo" operation="defined"/>"##,
        r##"<expression id="e" attribute="bar" operation="ne" value="x"/>"##,
        r##"<op_expression id="e" name="monitor"/>"##,
    ] {
        let xml = format!(r##"<rule id="r" score="0">{body}</rule>"##);
        let d = doc(&xml);
        let out = evaluate_rule(d.root_element(), &ctx);
        assert!(!out.matched, "{body}");
        assert_eq!(out.problems.len(), 1, "{body}: {:?}", out.problems);
    }
    let d =
        doc(r##"<rule id="r"><date_expression id="e" operation="gt" start="2000-01-01"/></rule>"##);
    assert!(evaluate_rule(d.root_element(), &ctx).matched);
}

#[test]
fn op_expressions() {
    let d = doc(r##"<rules>
      <rule id="any"><op_expression id="a" name="monitor"/></rule>
      <rule id="ten"><op_expression id="b" name="monitor" interval="10s"/></rule>
      <rule id="iso"><op_expression id="c" name="monitor" interval="PT10S"/></rule>
      <rule id="both" boolean-op="and"><rsc_expression id="d" class="ocf" provider="heartbeat" type="IPaddr2"/><op_expression id="e" name="monitor" interval="10s"/></rule>
    </rules>"##);
    let rule = |id: &str| {
        d.descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap()
    };
    let ctx = |name, ms| {
        RuleContext::new()
            .with_op(name, ms)
            .with_rsc("ocf", Some("heartbeat"), "IPaddr2")
    };
    assert!(evaluate_rule(rule("any"), &ctx("monitor", 20_000)).matched);
    assert!(!evaluate_rule(rule("any"), &ctx("start", 0)).matched);
    assert!(evaluate_rule(rule("ten"), &ctx("monitor", 10_000)).matched);
    assert!(!evaluate_rule(rule("ten"), &ctx("monitor", 20_000)).matched);
    assert!(evaluate_rule(rule("iso"), &ctx("monitor", 10_000)).matched);
    assert!(evaluate_rule(rule("both"), &ctx("monitor", 10_000)).matched);
    let dummy =
        RuleContext::new()
            .with_op("monitor", 10_000)
            .with_rsc("ocf", Some("heartbeat"), "Dummy");
    assert!(!evaluate_rule(rule("both"), &dummy).matched);
    assert_eq!(parse_interval_ms("500ms"), Some(500));
    assert_eq!(parse_interval_ms("2min"), Some(120_000));
    assert_eq!(parse_interval_ms("1h"), Some(3_600_000));
    assert_eq!(parse_interval_ms("15"), Some(15_000));
    assert_eq!(parse_interval_ms("soon"), None);
}

#[test]
fn role_and_id_refs() {
    let d = doc(r##"<cib>
      <rule id="shared" score="5" role="Master"><expression id="e" attribute="x" operation="defined"/></rule>
      <rsc_location id="l" rsc="a"><rule id-ref="shared"/></rsc_location>
    </cib>"##);
    let reference = d
        .descendants()
        .find(|n| n.attribute("id-ref") == Some("shared"))
        .unwrap();
    let node = map(&[("x", "1")]);
    assert_eq!(rule_role(reference), Some("Promoted"));
    let ctx = RuleContext::new().with_node(&node);
    assert_eq!(location_rule(reference, &ctx), Some(Score::new(5)));
    assert_eq!(
        location_rule(reference, &ctx.with_role("Promoted")),
        Some(Score::new(5))
    );
    assert_eq!(location_rule(reference, &ctx.with_role("Started")), None);
    let dangling = doc(r##"<rule id-ref="nowhere"/>"##);
    let out = evaluate_rule(dangling.root_element(), &ctx);
    assert!(!out.matched && out.problems.len() == 1);
}

/// Nested rules with dates: the re-check time is the earliest date ahead.
#[test]
fn next_change_is_the_earliest_date_ahead() {
    let d = doc(r##"<rule id="r" boolean-op="or">
      <date_expression id="a" operation="gt" start="2019-09-23 22:00:00 -05:00"/>
      <rule id="n"><date_expression id="b" operation="in_range" start="2019-09-23 12:00:00 -05:00" end="2019-09-23 13:00:00 -05:00"/></rule>
    </rule>"##);
    let out = evaluate_rule(
        d.root_element(),
        &RuleContext::new().at(at("2019-09-23 16:00:00")),
    );
    assert!(!out.matched);
    assert_eq!(out.next_change, Some(at("2019-09-23 17:00:00")));
    let out = evaluate_rule(
        d.root_element(),
        &RuleContext::new().at(at("2019-09-23 17:30:00")),
    );
    assert!(out.matched);
    assert_eq!(out.next_change, Some(at("2019-09-23 18:00:01")));
}

fn nv_sets(sets: &str) -> NvPairs {
    let xml = format!(r##"<primitive id="r0">{sets}</primitive>"##);
    let d = doc(&xml);
    let node = map(&[("#uname", "n1")]);
    let ctx = RuleContext::new()
        .with_node(&node)
        .at(at("2005-01-20 10:00:00"));
    let sets = d
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("instance_attributes"));
    select_nvpairs(sets, &ctx, None)
}

fn set(i: u32, score: Option<&str>, pairs: &[(&str, Option<&str>)], rule: &str) -> String {
    let score = score
        .map(|s| format!(r##" score="{s}""##))
        .unwrap_or_default();
    let nv: String = pairs
        .iter()
        .enumerate()
        .map(|(j, (k, v))| match v {
            Some(v) => format!(r##"<nvpair id="n{i}-{j}" name="{k}" value="{v}"/>"##),
            None => format!(r##"<nvpair id="n{i}-{j}" name="{k}"/>"##),
        })
        .collect();
    format!(r##"<instance_attributes id="s{i}"{score}>{rule}{nv}</instance_attributes>"##)
}

/// The parameter crm_simulate put on the start action for each arrangement of sets.
#[test]
fn nvpair_selection_matches_crm_simulate() {
    fn p(v: &str) -> [(&str, Option<&str>); 1] {
        [("p", Some(v))]
    }
    let t = r##"<rule id="rt" score="0"><expression id="et" attribute="#uname" operation="eq" value="n1"/></rule>"##;
    let f = r##"<rule id="rf" score="0"><expression id="ef" attribute="#uname" operation="eq" value="n2"/></rule>"##;
    let f2 = r##"<rule id="rf2" score="0"><expression id="ef2" attribute="#uname" operation="eq" value="n3"/></rule>"##;
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("equal scores: last set wins", set(1, Some("3"), &p("a"), "") + &set(2, Some("3"), &p("b"), ""), Some("b")),
        ("no scores", set(1, None, &p("a"), "") + &set(2, None, &p("b"), ""), Some("b")),
        ("three sets", set(1, None, &p("a"), "") + &set(2, None, &p("b"), "") + &set(3, None, &p("c"), ""), Some("c")),
        ("higher score wins", set(1, Some("1"), &p("a"), "") + &set(2, Some("2"), &p("b"), ""), Some("b")),
        ("higher score first", set(1, Some("2"), &p("a"), "") + &set(2, Some("1"), &p("b"), ""), Some("a")),
        ("#default first", set(1, None, &p("#default"), "") + &set(2, None, &p("b"), ""), None),
        ("#default second", set(1, None, &p("a"), "") + &set(2, None, &p("#default"), ""), Some("a")),
        ("#default high", set(1, Some("5"), &p("#default"), "") + &set(2, Some("1"), &p("b"), ""), Some("b")),
        ("#default low", set(1, Some("5"), &p("a"), "") + &set(2, Some("1"), &p("#default"), ""), None),
        ("#default in the middle", set(1, None, &p("c"), "") + &set(2, None, &p("#default"), "") + &set(3, None, &p("a"), ""), Some("c")),
        ("no value", set(1, Some("5"), &[("p", None)], "") + &set(2, Some("1"), &p("b"), ""), Some("b")),
        ("duplicate in a set", set(1, None, &[("p", Some("a")), ("p", Some("b"))], ""), Some("a")),
        ("negative score", set(1, Some("-5"), &p("a"), "") + &set(2, None, &p("b"), ""), Some("b")),
        ("INFINITY", set(1, None, &p("a"), "") + &set(2, Some("INFINITY"), &p("b"), ""), Some("b")),
        ("-INFINITY", set(1, Some("-INFINITY"), &p("a"), "") + &set(2, None, &p("b"), ""), Some("b")),
        ("rules true,false", set(1, None, &p("a"), &format!("{t}{f}")), Some("a")),
        ("rules false,true", set(1, None, &p("a"), &format!("{f}{t}")), Some("a")),
        ("rules false,false", set(1, None, &p("a"), &format!("{f}{f2}")), None),
        (
            "id-ref set keeps the referring score",
            r##"<instance_attributes id="x" score="10"><nvpair id="x1" name="p" value="x"/></instance_attributes>"##.to_string()
                + &set(2, Some("5"), &p("b"), ""),
            Some("x"),
        ),
    ];
    for (what, sets, want) in cases {
        let got = nv_sets(&sets);
        assert_eq!(got.get("p"), want, "{what}: {sets}");
    }
}

/// The mixed example from crm_simulate's graph: pa=x pb=fromia2 pe=later pf=refrule
/// pg=three-b ph=h pi=tworules ps=shared (no pc, no pd).
#[test]
fn nvpair_mixed_example_matches_crm_simulate() {
    let d = doc(r##"<resources>
<primitive id="r1"><instance_attributes id="shared" score="1"><nvpair id="s1" name="ps" value="shared"/></instance_attributes></primitive>
<primitive id="r0">
<instance_attributes id="ia0"><nvpair id="p1" name="pa" value="x"/><nvpair id="p2" name="pa" value="y"/></instance_attributes>
<instance_attributes id="ia1" score="5"><nvpair id="p3" name="pb" value="fromia1"/></instance_attributes>
<instance_attributes id="ia2" score="10"><rule id="iar" score="0"><expression id="iare" attribute="#uname" operation="eq" value="n1"/></rule><nvpair id="p4" name="pb" value="fromia2"/></instance_attributes>
<instance_attributes id="ia3" score="20"><rule id="iar3" score="0"><expression id="iare3" attribute="#uname" operation="eq" value="n2"/></rule><nvpair id="p5" name="pc" value="n2only"/></instance_attributes>
<instance_attributes id="ia4"><nvpair id="p6" name="pd" value="#default"/><nvpair id="p7" name="pe"/></instance_attributes>
<instance_attributes id="ia5"><nvpair id="p8" name="pd" value="later"/><nvpair id="p9" name="pe" value="later"/></instance_attributes>
<instance_attributes id-ref="shared"/>
<instance_attributes id="ia6" score="INFINITY"><rule id-ref="iar"/><nvpair id="p10" name="pf" value="refrule"/></instance_attributes>
<instance_attributes id="ia7" score="-5"><nvpair id="p11" name="pg" value="neg"/><nvpair id-ref="p4"/></instance_attributes>
<instance_attributes id="ia8" score="3"><nvpair id="p12" name="pg" value="three"/></instance_attributes>
<instance_attributes id="ia9" score="3"><nvpair id="p13" name="pg" value="three-b"/><nvpair id="p14" name="ph" value="h"/></instance_attributes>
<instance_attributes id="ia10" score="3"><rule id="r10a" score="0"><expression id="e10a" attribute="#uname" operation="eq" value="n1"/></rule><rule id="r10b" score="0"><expression id="e10b" attribute="#uname" operation="eq" value="n2"/></rule><nvpair id="p15" name="pi" value="tworules"/></instance_attributes>
</primitive></resources>"##);
    let r0 = d
        .descendants()
        .find(|n| n.attribute("id") == Some("r0"))
        .unwrap();
    let node = map(&[("#uname", "n1")]);
    let sets = r0
        .children()
        .filter(|n| n.has_tag_name("instance_attributes"));
    let got = select_nvpairs(sets, &RuleContext::new().with_node(&node), None).into_map();
    let want = map(&[
        ("pa", "x"),
        ("pb", "fromia2"),
        ("pe", "later"),
        ("pf", "refrule"),
        ("pg", "three-b"),
        ("ph", "h"),
        ("pi", "tworules"),
        ("ps", "shared"),
    ]);
    assert_eq!(got, want);
}

/// cib-bootstrap-options goes first whatever the scores; the others by score, with
/// the maintenance window of Pacemaker Explained §8.7.3.
#[test]
fn cluster_options_maintenance_window() {
    let d = doc(r##"<crm_config>
   <cluster_property_set id="cib-bootstrap-options">
     <nvpair id="b1" name="stonith-enabled" value="1"/>
   </cluster_property_set>
   <cluster_property_set id="normal-set" score="10">
     <nvpair id="n1" name="maintenance-mode" value="false"/>
     <nvpair id="n2" name="stonith-enabled" value="0"/>
   </cluster_property_set>
   <cluster_property_set id="maintenance-window-set" score="1000">
     <nvpair id="m1" name="maintenance-mode" value="true"/>
     <rule id="mr" score="INFINITY">
       <date_expression id="md" operation="in_range" start="2019-09-20 21:00:00 -05:00" end="2019-09-20 23:00:00 -05:00"/>
     </rule>
   </cluster_property_set></crm_config>"##);
    let run = |now: &str| {
        let sets = d
            .root_element()
            .children()
            .filter(|n| n.has_tag_name("cluster_property_set"));
        select_nvpairs(
            sets,
            &RuleContext::new().at(at(now)),
            Some("cib-bootstrap-options"),
        )
    };
    let inside = run("2019-09-21 03:00:00");
    assert_eq!(inside.get("maintenance-mode"), Some("true"));
    assert_eq!(inside.get("stonith-enabled"), Some("1"));
    assert_eq!(inside.next_change, Some(at("2019-09-21 04:00:01")));
    let before = run("2019-09-20 20:00:00");
    assert_eq!(before.get("maintenance-mode"), Some("false"));
    assert_eq!(before.next_change, Some(at("2019-09-21 02:00:00")));
    assert_eq!(
        run("2019-09-21 04:00:01").get("maintenance-mode"),
        Some("false")
    );
}

/// Every `<rule>` in the Pacemaker 2.1.5 regression cases evaluates without a
/// problem when the context provides every input (node, now, resource, operation).
#[test]
fn every_conformance_rule_evaluates_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/pacemaker-2.1.5/cases");
    let dir = if dir.is_dir() {
        dir
    } else {
        std::path::PathBuf::from("/work/shared/conformance/pacemaker-2.1.5/cases")
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("conformance cases not found at {}; skipping", dir.display());
        return;
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let node = builtin_node_attributes(Vec::new(), "node1", "1", "cluster", false, Some("c"));
    let params = map(&[]);
    let ctx = RuleContext::new()
        .with_node(&node)
        .at(at("2019-09-23 12:00:00"))
        .with_rsc("ocf", Some("heartbeat"), "Dummy")
        .with_op("monitor", 10_000)
        .with_params(&params)
        .with_meta(&params);
    let (mut cases, mut rules) = (0, 0);
    let mut problems = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        if !text.contains("<rule") {
            continue;
        }
        let d = doc(&text);
        cases += 1;
        // Top-level rules only; nested ones are evaluated through their parent.
        for rule in d.descendants().filter(|n| {
            n.has_tag_name("rule") && !n.parent().is_some_and(|p| p.has_tag_name("rule"))
        }) {
            rules += 1;
            let out = evaluate_rule(rule, &ctx);
            let _ = location_score(rule, &ctx);
            for p in out.problems {
                problems.push(format!(
                    "{}: {p}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
    }
    assert!(
        cases >= 190,
        "found only {cases} rule-bearing cases in {}",
        dir.display()
    );
    assert!(rules >= 700, "found only {rules} rules");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Date rules of the conformance cases at the date each case runs with (`-t` from
/// cases.json, else the CIB's execution-date), against `crm_rule -c` there.
#[test]
fn conformance_date_rules_match_crm_rule() {
    let dir = std::path::PathBuf::from("/work/shared/conformance/pacemaker-2.1.5/cases");
    if !dir.is_dir() {
        eprintln!("conformance cases not found; skipping");
        return;
    }
    // (case, -t date or None for execution-date, rule id, crm_rule exit code)
    let vectors: &[(&str, Option<&str>, &str, u8)] = &[
        ("date-1", Some("2005-020"), "rule.auto-1", 110),
        ("date-1", Some("2005-020"), "rule.auto-2", 0),
        ("location-date-rules-1", None, "rule-1-2", 110),
        ("location-date-rules-1", None, "rule-2-2", 111),
        ("location-date-rules-2", None, "rule-1-2", 110),
        ("location-date-rules-2", None, "rule-2-2", 0),
        ("nvpair-date-rules-1", None, "maintenance-rule1", 111),
        ("nvpair-date-rules-1", None, "rhel7-3-rule1", 0),
        ("nvpair-date-rules-1", None, "rsc2-rule1", 0),
        ("nvpair-date-rules-1", None, "rule-2-2", 0),
        ("nvpair-date-rules-1", None, "rule-3-2", 111),
        ("nvpair-date-rules-1", None, "op-rule1", 0),
        // crm_rule cannot check date_spec; crm_simulate -t 2005-020T12:30 applies it.
        ("date-2", Some("2005-020T12:30"), "test_failback_rule", 0),
    ];
    for (case, date, rule_id, code) in vectors {
        let text = std::fs::read_to_string(dir.join(format!("{case}.xml"))).unwrap();
        let d = doc(&text);
        let now = match date {
            Some(t) => at(t),
            None => {
                let epoch = d.root_element().attribute("execution-date").unwrap();
                DateTime::parse_execution_date(epoch).unwrap()
            }
        };
        let rule = d
            .descendants()
            .find(|n| n.has_tag_name("rule") && n.attribute("id") == Some(rule_id))
            .unwrap();
        let out = evaluate_rule(rule, &RuleContext::new().at(now));
        assert_eq!(out.matched, *code == 0, "{case} {rule_id} at {now}");
        match code {
            111 => assert!(out.next_change.is_some_and(|t| t > now), "{case} {rule_id}"),
            110 => assert_eq!(out.next_change, None, "{case} {rule_id}"),
            _ => {}
        }
        assert!(out.problems.is_empty(), "{:?}", out.problems);
    }
}

/// Equal-score ties go to the last listed set for every kind of set (crm_simulate:
/// symmetric-cluster in two cluster_property_sets, target-role in two
/// meta_attributes).
#[test]
fn ties_go_to_the_last_set_for_every_kind() {
    for (tag, name) in [
        ("cluster_property_set", "symmetric-cluster"),
        ("meta_attributes", "target-role"),
    ] {
        let xml = format!(
            r#"<x><{tag} id="a"><nvpair id="a1" name="{name}" value="first"/></{tag}><{tag} id="b"><nvpair id="b1" name="{name}" value="second"/></{tag}></x>"#
        );
        let d = doc(&xml);
        let sets = d.root_element().children().filter(|n| n.has_tag_name(tag));
        let got = select_nvpairs(sets, &RuleContext::new(), Some("cib-bootstrap-options"));
        assert_eq!(got.get(name), Some("second"), "{tag}");
    }
}
