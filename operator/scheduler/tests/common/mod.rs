//! Small CIB builders for scheduler tests: `Cib::new(&["n1", "n2"]).primitive("ip")
//! .running("ip", "n1")` and so on, rendered to CIB XML.

#![allow(dead_code)]

use std::fmt::Write;

#[derive(Default)]
pub struct Cib {
    nodes: Vec<String>,
    offline: Vec<(String, &'static str)>,
    options: Vec<(String, String)>,
    resources: String,
    constraints: String,
    /// (node, lrm_resource xml) history entries.
    history: Vec<(String, String)>,
    node_attrs: Vec<(String, String, String)>,
    quorum: bool,
    call_id: u32,
}

impl Cib {
    pub fn new(nodes: &[&str]) -> Self {
        Cib {
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            quorum: true,
            ..Default::default()
        }
        .option("stonith-enabled", "false")
    }
    pub fn option(mut self, k: &str, v: &str) -> Self {
        self.options.retain(|(n, _)| n != k);
        self.options.push((k.into(), v.into()));
        self
    }
    pub fn no_quorum(mut self) -> Self {
        self.quorum = false;
        self
    }
    /// A node that left the cluster without a clean shutdown.
    pub fn lost(mut self, node: &str) -> Self {
        self.offline.push((node.into(), "lost"));
        self
    }
    pub fn node_attr(mut self, node: &str, k: &str, v: &str) -> Self {
        self.node_attrs.push((node.into(), k.into(), v.into()));
        self
    }
    pub fn raw_resource(mut self, xml: &str) -> Self {
        self.resources.push_str(xml);
        self
    }
    pub fn stonith_device(self, id: &str) -> Self {
        self.raw_resource(&format!(
            "<primitive id=\"{id}\" class=\"stonith\" type=\"fence_dummy\"/>"
        ))
    }
    pub fn primitive(self, id: &str) -> Self {
        let xml = prim(id, "");
        self.raw_resource(&xml)
    }
    pub fn primitive_meta(self, id: &str, meta: &[(&str, &str)]) -> Self {
        let xml = prim(id, &meta_xml(id, meta));
        self.raw_resource(&xml)
    }
    pub fn group(self, id: &str, members: &[&str]) -> Self {
        let inner: String = members.iter().map(|m| prim(m, "")).collect();
        self.raw_resource(&format!("<group id=\"{id}\">{inner}</group>"))
    }
    pub fn clone_of(self, id: &str, child: &str, meta: &[(&str, &str)]) -> Self {
        let xml = format!(
            "<clone id=\"{id}\">{}{}</clone>",
            meta_xml(id, meta),
            prim(child, "")
        );
        self.raw_resource(&xml)
    }
    pub fn constraint(mut self, xml: &str) -> Self {
        self.constraints.push_str(xml);
        self
    }
    pub fn location(self, rsc: &str, node: &str, score: &str) -> Self {
        let xml = format!(
            "<rsc_location id=\"loc-{rsc}-{node}\" rsc=\"{rsc}\" node=\"{node}\" score=\"{score}\"/>"
        );
        self.constraint(&xml)
    }
    pub fn colocation(self, rsc: &str, with: &str, score: &str) -> Self {
        let xml = format!(
            "<rsc_colocation id=\"col-{rsc}-{with}\" rsc=\"{rsc}\" with-rsc=\"{with}\" score=\"{score}\"/>"
        );
        self.constraint(&xml)
    }
    pub fn order(self, first: &str, then: &str) -> Self {
        let xml =
            format!("<rsc_order id=\"ord-{first}-{then}\" first=\"{first}\" then=\"{then}\"/>");
        self.constraint(&xml)
    }
    /// History: `rsc` started successfully on `node` (with a probe before).
    pub fn running(self, rsc: &str, node: &str) -> Self {
        self.ops(rsc, node, &[("monitor", 0, 7, 7), ("start", 0, 0, 0)])
    }
    /// History: `rsc` started on `node`, then its 10s monitor failed.
    pub fn failed(self, rsc: &str, node: &str) -> Self {
        self.ops(rsc, node, &[("start", 0, 0, 0), ("monitor", 10000, 1, 0)])
    }
    /// History entries (operation, interval ms, rc, expected rc), in call order.
    pub fn ops(mut self, rsc: &str, node: &str, ops: &[(&str, u32, i32, i32)]) -> Self {
        let mut xml = format!(
            "<lrm_resource id=\"{rsc}\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\">"
        );
        for (op, interval, rc, expected) in ops {
            self.call_id += 1;
            let c = self.call_id;
            let _ = write!(
                xml,
                // The digest of an empty parameter set, so no "definition change".
                "<lrm_rsc_op op-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\" id=\"{rsc}_{op}_{interval}_{c}\" operation=\"{op}\" interval=\"{interval}\" \
                 call-id=\"{c}\" rc-code=\"{rc}\" op-status=\"0\" transition-key=\"1:1:{expected}:x\" last-rc-change=\"1000\"/>"
            );
        }
        xml.push_str("</lrm_resource>");
        self.history.push((node.into(), xml));
        self
    }
    pub fn xml(&self) -> String {
        let mut s = format!(
            "<cib have-quorum=\"{}\" validate-with=\"pacemaker-3.0\" epoch=\"1\" num_updates=\"1\" admin_epoch=\"0\"><configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">",
            if self.quorum { 1 } else { 0 }
        );
        for (k, v) in &self.options {
            let _ = write!(s, "<nvpair id=\"opt-{k}\" name=\"{k}\" value=\"{v}\"/>");
        }
        s.push_str("</cluster_property_set></crm_config><nodes>");
        for n in &self.nodes {
            let _ = write!(s, "<node id=\"{n}\" uname=\"{n}\"/>");
        }
        let _ = write!(
            s,
            "</nodes><resources>{}</resources><constraints>{}</constraints></configuration><status>",
            self.resources, self.constraints
        );
        for n in &self.nodes {
            let lost = self.offline.iter().any(|(o, _)| o == n);
            let (ccm, crmd) = if lost {
                ("false", "offline")
            } else {
                ("true", "online")
            };
            let _ = write!(
                s,
                "<node_state id=\"{n}\" uname=\"{n}\" in_ccm=\"{ccm}\" crmd=\"{crmd}\" join=\"member\" expected=\"member\">"
            );
            let attrs: Vec<_> = self.node_attrs.iter().filter(|(o, _, _)| o == n).collect();
            if !attrs.is_empty() {
                let _ = write!(
                    s,
                    "<transient_attributes id=\"ta-{n}\"><instance_attributes id=\"ia-{n}\">"
                );
                for (_, k, v) in attrs {
                    let _ = write!(s, "<nvpair id=\"na-{n}-{k}\" name=\"{k}\" value=\"{v}\"/>");
                }
                s.push_str("</instance_attributes></transient_attributes>");
            }
            let _ = write!(s, "<lrm id=\"{n}\"><lrm_resources>");
            for (_, h) in self.history.iter().filter(|(o, _)| o == n) {
                s.push_str(h);
            }
            s.push_str("</lrm_resources></lrm></node_state>");
        }
        s.push_str("</status></cib>");
        s
    }
}

fn prim(id: &str, inner: &str) -> String {
    format!(
        "<primitive id=\"{id}\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\">{inner}<operations><op id=\"{id}-mon\" name=\"monitor\" interval=\"10s\"/></operations></primitive>"
    )
}

fn meta_xml(id: &str, meta: &[(&str, &str)]) -> String {
    let mut s = format!("<meta_attributes id=\"{id}-meta\">");
    for (k, v) in meta {
        let _ = write!(s, "<nvpair id=\"{id}-{k}\" name=\"{k}\" value=\"{v}\"/>");
    }
    s.push_str("</meta_attributes>");
    s
}

/// Whitespace-normalised Transition Summary lines of a scheduler run.
pub fn summary(cib: &Cib) -> Vec<String> {
    let s =
        pacer_scheduler::schedule(&cib.xml(), Some(2_000_000_000)).expect("builder CIB is valid");
    let mut out: Vec<String> = s
        .summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    out.sort();
    out
}
