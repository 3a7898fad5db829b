//! Remote nodes (ocf:pacemaker:remote connections): when a failed connection fences its
//! node, `reconnect_interval` holding the connection down, and remote nodes with no
//! connection at all. Expected summaries checked against crm_simulate 2.1.5 on these
//! CIBs.

use pacer_scheduler::schedule;

/// One history entry of the connection `rem` on n1: (operation, interval ms, rc,
/// op-status, last-rc-change).
type Op = (&'static str, u32, i32, i32, i64);

const START: Op = ("start", 0, 0, 0, 900);
const START_FAILED: Op = ("start", 0, 1, 2, 950);
const MONITOR_FAILED: Op = ("monitor", 60000, 1, 4, 950);
const STOP: Op = ("stop", 0, 0, 0, 960);

struct Remote {
    /// History of the connection on n1; `None`: no connection resource at all (the
    /// remote node is only declared in <nodes>).
    conn: Option<&'static [Op]>,
    reconnect: Option<&'static str>,
    /// The remote node's `node_fenced` status attribute.
    node_fenced: Option<&'static str>,
    /// `app` (preferring the remote node) is active there.
    app_there: bool,
    now: i64,
    /// The connection is banned from n1 and has failed too often on n2.
    conn_nowhere: bool,
}

impl Remote {
    fn xml(&self) -> String {
        let digest = r#"op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8""#;
        let params = self.reconnect.map_or(String::new(), |v| {
            format!(
                r#"<instance_attributes id="rem-ia"><nvpair id="rem-ri" name="reconnect_interval" value="{v}"/></instance_attributes>"#
            )
        });
        let (conn, node) = match self.conn {
            Some(_) => (
                format!(
                    r#"<primitive id="rem" class="ocf" provider="pacemaker" type="remote">{params}<operations><op id="rem-mon" name="monitor" interval="60s"/></operations></primitive>"#
                ),
                "",
            ),
            None => (
                String::new(),
                r#"<node id="rem" uname="rem" type="remote"/>"#,
            ),
        };
        let mut ops = String::new();
        for (i, (op, interval, rc, st, t)) in self.conn.unwrap_or_default().iter().enumerate() {
            ops += &format!(
                r#"<lrm_rsc_op id="rem_{op}_{interval}_{i}" operation_key="rem_{op}_{interval}" operation="{op}" interval="{interval}" call-id="{c}" rc-code="{rc}" op-status="{st}" transition-key="1:1:0:x" transition-magic="{st}:{rc};1:1:0:x" last-rc-change="{t}" {digest}/>"#,
                c = i + 2
            );
        }
        let fenced = self
            .node_fenced
            .map_or(String::new(), |v| format!(r#" node_fenced="{v}""#));
        let app = if self.app_there {
            format!(
                r#"<lrm_resource id="app" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="app_last_0" operation_key="app_start_0" operation="start" interval="0" call-id="5" rc-code="0" op-status="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" last-rc-change="900" {digest}/></lrm_resource>"#
            )
        } else {
            String::new()
        };
        let (ban, n2_attrs) = if self.conn_nowhere {
            (
                r#"<rsc_location id="rem-n1" rsc="rem" node="n1" score="-INFINITY"/>"#,
                r#"<transient_attributes id="2"><instance_attributes id="s2"><nvpair id="s2-fc" name="fail-count-rem" value="INFINITY"/></instance_attributes></transient_attributes>"#,
            )
        } else {
            ("", "")
        };
        format!(
            r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" execution-date="{now}">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/>{node}</nodes>
    <resources>
      <primitive id="fence" class="stonith" type="fence_dummy"/>
      {conn}
      <primitive id="app" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints><rsc_location id="app-rem" rsc="app" node="rem" score="100"/>{ban}</constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources>
      <lrm_resource id="fence" class="stonith" type="fence_dummy"><lrm_rsc_op id="fence_last_0" operation_key="fence_start_0" operation="start" interval="0" call-id="1" rc-code="0" op-status="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" last-rc-change="900" {digest}/></lrm_resource>
      <lrm_resource id="rem" class="ocf" provider="pacemaker" type="remote">{ops}</lrm_resource>
    </lrm_resources></lrm></node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">{n2_attrs}</node_state>
    <node_state id="rem" uname="rem" remote_node="true"{fenced}><lrm id="rem"><lrm_resources>{app}</lrm_resources></lrm></node_state>
  </status>
</cib>"#,
            now = self.now
        )
    }

    fn summary(&self) -> Vec<String> {
        let s = schedule(&self.xml(), None).expect("schedules");
        let mut out: Vec<String> = s
            .summary
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        out.sort();
        out
    }
}

fn remote(conn: &'static [Op]) -> Remote {
    Remote {
        conn: Some(conn),
        reconnect: None,
        node_fenced: None,
        app_there: true,
        now: 1000,
        conn_nowhere: false,
    }
}

#[test]
fn failed_start_of_the_connection_recovers_it_in_place_and_fences_for_what_ran_there() {
    // A failed start bans nothing by itself (only a fail-count would), and it never
    // established a connection: the node is fenced for the resource thought active.
    assert_eq!(
        remote(&[START_FAILED]).summary(),
        [
            "* Fence (reboot) rem 'app is thought to be active there'",
            "* Move app ( rem -> n1 )",
            "* Move fence ( n1 -> n2 )",
            "* Recover rem ( n1 )",
        ]
    );
}

#[test]
fn failed_monitor_of_the_connection_makes_it_unrecoverable() {
    assert_eq!(
        remote(&[START, MONITOR_FAILED]).summary(),
        [
            "* Fence (reboot) rem 'remote connection is unrecoverable'",
            "* Move app ( rem -> n1 )",
            "* Move fence ( n1 -> n2 )",
            "* Recover rem ( n1 )",
        ]
    );
}

#[test]
fn reconnect_interval_keeps_a_failed_connection_stopped() {
    let r = Remote {
        reconnect: Some("60s"),
        node_fenced: Some("0"),
        ..remote(&[START, MONITOR_FAILED])
    };
    assert_eq!(
        r.summary(),
        [
            "* Fence (reboot) rem 'remote connection is unrecoverable'",
            "* Move app ( rem -> n2 )",
            "* Stop rem ( n1 ) due to node availability",
        ]
    );
}

#[test]
fn reconnect_interval_counts_from_the_failure_once_the_node_was_fenced() {
    let waiting = Remote {
        reconnect: Some("60s"),
        node_fenced: Some("960"),
        app_there: false,
        ..remote(&[START, MONITOR_FAILED, STOP])
    };
    assert_eq!(waiting.summary(), ["* Start app ( n2 )"]);
    let over = Remote {
        now: 1011,
        ..waiting
    };
    assert_eq!(
        over.summary(),
        [
            "* Move fence ( n1 -> n2 )",
            "* Start app ( rem )",
            "* Start rem ( n1 )",
        ]
    );
    // Not fenced yet: the failure does not expire, and the node still needs fencing.
    let unfenced = Remote {
        node_fenced: Some("0"),
        now: 5000,
        ..over
    };
    assert_eq!(
        unfenced.summary(),
        [
            "* Fence (reboot) rem 'remote connection is unrecoverable'",
            "* Start app ( n2 )",
        ]
    );
}

#[test]
fn remote_node_without_a_connection_is_offline_and_fenced_for_what_ran_there() {
    let r = Remote {
        conn: None,
        ..remote(&[])
    };
    assert_eq!(
        r.summary(),
        [
            "* Fence (reboot) rem 'app is thought to be active there'",
            "* Move app ( rem -> n2 )",
        ]
    );
}

#[test]
fn stopped_connection_that_can_start_again_revokes_fencing() {
    // What the history shows active on the remote node stays there.
    assert_eq!(
        remote(&[START, STOP]).summary(),
        ["* Move fence ( n1 -> n2 )", "* Start rem ( n1 )"]
    );
    // Unless the connection finds no node after all (here: after placement, for a
    // fail-count): then the node is fenced.
    let nowhere = Remote {
        conn_nowhere: true,
        ..remote(&[START, STOP])
    };
    assert_eq!(
        nowhere.summary(),
        [
            "* Fence (reboot) rem 'app is active there (fencing will be revoked if remote connection can be re-established elsewhere)'",
            "* Move app ( rem -> n2 )",
        ]
    );
}
