//! Group semantics crm_simulate 2.1.5 shows (each CIB checked with it;
//! `PACER_GROUPS_DUMP=DIR` writes them):
//! - a group's target-role reaches it through its members: a member's own wins;
//! - an unmanaged member that is stopped keeps the members after it stopped;
//! - `ordered=false`: every member follows an ordering on the group, not just the first;
//! - an unmanaged member holds the group where it runs, unless the group may not run there.

use pacer_scheduler::schedule;

fn prim(id: &str, meta: &str) -> String {
    format!(
        r#"<primitive id="{id}" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="{id}-m">{meta}</meta_attributes></primitive>"#
    )
}

fn nv(owner: &str, name: &str, value: &str) -> String {
    format!(r#"<nvpair id="{owner}-{name}" name="{name}" value="{value}"/>"#)
}

/// `group` on n1 with members a, b, c; `running` are started on n1.
fn cib(group: &str, running: &[&str], extra: &str, constraints: &str) -> String {
    let history: String = running
        .iter()
        .map(|r| {
            format!(
                r#"<lrm_resource id="{r}" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="{r}_last_0" operation_key="{r}_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>"#
            )
        })
        .collect();
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o-s" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>{extra}{group}</resources>
    <constraints><rsc_location id="pref" rsc="g" node="n1" score="100"/>{constraints}</constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>{history}</lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#
    )
}

fn summary(name: &str, xml: &str) -> Vec<String> {
    if let Some(dir) = std::env::var_os("PACER_GROUPS_DUMP") {
        let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.xml")), xml);
    }
    let s = schedule(xml, Some(0)).expect("schedules");
    s.summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_members_own_target_role_wins_over_the_groups() {
    let group = format!(
        r#"<group id="g"><meta_attributes id="g-m">{}</meta_attributes>{}{}</group>"#,
        nv("g", "target-role", "Stopped"),
        prim("a", &nv("a", "target-role", "Started")),
        prim("b", &nv("b", "target-role", "Started"))
    );
    assert_eq!(
        summary("target-role", &cib(&group, &[], "", "")),
        ["* Start a ( n1 )", "* Start b ( n1 )"]
    );
}

#[test]
fn a_stopped_unmanaged_member_keeps_later_members_stopped() {
    let group = format!(
        r#"<group id="g">{}{}{}</group>"#,
        prim("a", ""),
        prim("b", &nv("b", "is-managed", "false")),
        prim("c", "")
    );
    assert_eq!(
        summary("unmanaged", &cib(&group, &["a", "c"], "", "")),
        ["* Stop c ( n1 ) due to node availability"]
    );
}

#[test]
fn every_member_of_an_unordered_group_follows_an_ordering_on_it() {
    let group = format!(
        r#"<group id="g"><meta_attributes id="g-m">{}</meta_attributes>{}{}</group>"#,
        nv("g", "ordered", "false"),
        prim("a", ""),
        prim("b", "")
    );
    let first = prim("f", &nv("f", "target-role", "Stopped"));
    let order = r#"<rsc_order id="f-g" first="f" then="g"/>"#;
    assert_eq!(
        summary("unordered", &cib(&group, &["a", "b"], &first, order)),
        [
            "* Stop a ( n1 ) due to unrunnable f start",
            "* Stop b ( n1 ) due to unrunnable f start"
        ]
    );
}

#[test]
fn an_unmanaged_member_does_not_pull_the_others_where_the_group_may_not_run() {
    let group = format!(
        r#"<group id="g">{}{}</group>"#,
        prim("a", &nv("a", "is-managed", "false")),
        prim("b", "")
    );
    let primary = prim("p", &nv("p", "target-role", "Stopped"));
    let with = r#"<rsc_colocation id="g-with-p" rsc="g" with-rsc="p" score="INFINITY"/>"#;
    assert_eq!(
        summary("held", &cib(&group, &["a"], &primary, with)),
        Vec::<String>::new()
    );
    // Without the colocation the others join it.
    assert_eq!(
        summary("held-free", &cib(&group, &["a"], &primary, "")),
        ["* Start b ( n1 )"]
    );
}
