//! The cluster model the scheduler works on: what `unpack` builds from a CIB and what
//! the placement/action stages read. Plain data, indices instead of references.

use std::collections::BTreeMap;

pub type NodeIdx = usize;
pub type RscIdx = usize;

/// A resource role as Pacemaker names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Stopped,
    Started,
    Unpromoted,
    Promoted,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "stopped" => Some(Role::Stopped),
            "started" => Some(Role::Started),
            "unpromoted" | "slave" => Some(Role::Unpromoted),
            "promoted" | "master" => Some(Role::Promoted),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Role::Stopped => "Stopped",
            Role::Started => "Started",
            Role::Unpromoted => "Unpromoted",
            Role::Promoted => "Promoted",
        }
    }
    pub fn is_active(self) -> bool {
        self != Role::Stopped
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Member,
    Remote,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    /// Member of the cluster and able to run resources right now.
    pub online: bool,
    /// State unknown: must be fenced before its resources can be recovered.
    pub unclean: bool,
    pub unclean_reason: String,
    pub standby: bool,
    pub maintenance: bool,
    /// Shutting down cleanly (the `shutdown` attribute is set).
    pub shutdown: bool,
    pub attrs: BTreeMap<String, String>,
    pub utilization: BTreeMap<String, i64>,
    /// For remote and guest nodes: the connection (ocf:pacemaker:remote) or container
    /// resource the node depends on; it is up when that resource runs.
    pub remote_of: Option<RscIdx>,
    /// For guest nodes: the container resource the connection runs with.
    pub container: Option<RscIdx>,
    /// For remote nodes: the status records a fencing since the connection was lost
    /// (`node_fenced`).
    pub was_fenced: bool,
}

impl Node {
    /// Whether new resources may be placed here. Remote nodes additionally need
    /// their connection placed (checked by placement).
    pub fn can_host(&self) -> bool {
        (self.online || self.remote_of.is_some())
            && !self.unclean
            && !self.standby
            && !self.shutdown
            && !self.maintenance
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoQuorumPolicy {
    Stop,
    Ignore,
    Freeze,
    Suicide,
    Demote,
}

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub stonith_enabled: bool,
    pub symmetric: bool,
    pub no_quorum_policy: NoQuorumPolicy,
    pub have_quorum: bool,
    pub maintenance_mode: bool,
    pub stop_all_resources: bool,
    pub start_failure_is_fatal: bool,
    pub startup_fencing: bool,
    pub stonith_action: String,
    pub placement_strategy: String,
    pub stop_orphan_resources: bool,
    pub node_health_strategy: String,
    pub node_health_red: i64,
    pub node_health_yellow: i64,
    pub node_health_green: i64,
    pub shutdown_lock: bool,
    pub default_stickiness: i64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            stonith_enabled: true,
            symmetric: true,
            no_quorum_policy: NoQuorumPolicy::Stop,
            have_quorum: true,
            maintenance_mode: false,
            stop_all_resources: false,
            start_failure_is_fatal: true,
            startup_fencing: true,
            stonith_action: "reboot".into(),
            placement_strategy: "default".into(),
            stop_orphan_resources: true,
            node_health_strategy: "none".into(),
            node_health_red: -crate::score::INFINITY,
            node_health_yellow: 0,
            node_health_green: 0,
            shutdown_lock: false,
            default_stickiness: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFail {
    Ignore,
    Block,
    Stop,
    Restart,
    Fence,
    Standby,
    Demote,
}

/// An operation configured on a resource (`<op>`).
#[derive(Debug, Clone)]
pub struct OpDef {
    pub name: String,
    pub interval_ms: u64,
    pub role: Option<Role>,
    pub on_fail: Option<OnFail>,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct CloneCfg {
    pub max: usize,
    pub node_max: usize,
    pub promotable: bool,
    pub promoted_max: usize,
    pub promoted_node_max: usize,
    pub interleave: bool,
    pub ordered: bool,
    pub unique: bool,
    pub notify: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Primitive {
        class: String,
        provider: Option<String>,
        agent: String,
    },
    Group,
    Clone,
}

/// What the history says about one primitive on one node.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub node: NodeIdx,
    pub role: Role,
    /// The last operation failed: the resource needs recovery here.
    pub failed: bool,
    /// A stop failed: only fencing can make this node clean.
    pub stop_failed: bool,
    /// on-fail policy of the failed operation, if any.
    pub on_fail: Option<OnFail>,
    /// The resource must never run here again (not installed, etc.).
    pub banned: bool,
    /// A fatal failure (OCF_ERR_CONFIGURED: the configuration itself is wrong): the
    /// resource may run nowhere until the failure is cleaned up.
    pub fatal: bool,
    /// An operation is in flight.
    pub pending: bool,
    /// A partial migration from here towards this node (migrate_to done, no
    /// migrate_from yet): it continues if that node stays the target.
    pub migrated_to: Option<NodeIdx>,
    /// The last operation here was a migrate_from (`Some(true)` = it succeeded).
    pub migrate_from: Option<bool>,
    /// An unfinished migration left the resource here in an unknown state: it is
    /// stopped and started again even if it stays.
    pub restart: bool,
    /// A finished migration's source that was not stopped yet: inactive, but the
    /// stop is still due (and listed nowhere).
    pub dangling: bool,
    /// Name of the failed operation ("probe" for a one-time monitor).
    pub failed_op: Option<String>,
    /// For a remote connection: when an operation of an established connection last
    /// failed (epoch seconds). Such a failure resets (fences) the remote node, and with
    /// `reconnect_interval` it outlives a later stop: the connection stays down until
    /// the interval has passed.
    pub reset_failure: Option<i64>,
    /// `op-digest` of the start that put the resource here (definition-change check).
    pub start_digest: Option<String>,
    /// With an agent that can reload: the parameters whose change needs a restart
    /// (`op-force-restart`; absent: all of them) and their digest then
    /// (`op-restart-digest`).
    pub restart_digest: Option<(Option<String>, String)>,
    /// The id the node's history records the resource under (`lrm_resource` id): an
    /// anonymous clone instance may be recorded under another instance's number, and
    /// node attributes about it (promotion scores) use that name.
    pub history_name: String,
}

#[derive(Debug, Clone)]
pub struct Resource {
    /// Id as printed (clone instances carry ":N").
    pub id: String,
    /// Id in the configuration (without the instance suffix).
    pub config_id: String,
    pub kind: Kind,
    pub parent: Option<RscIdx>,
    pub children: Vec<RscIdx>,
    pub meta: BTreeMap<String, String>,
    pub params: BTreeMap<String, String>,
    pub priority: i64,
    pub stickiness: i64,
    pub migration_threshold: i64,
    pub failure_timeout_s: i64,
    pub managed: bool,
    pub target_role: Option<Role>,
    pub allow_migrate: bool,
    pub requires_fencing: bool,
    pub requires_quorum: bool,
    pub ops: Vec<OpDef>,
    pub clone: Option<CloneCfg>,
    pub instance: Option<usize>,
    /// Where the primitive is active (or failed) according to the history.
    pub status: Vec<NodeStatus>,
    /// Not in the configuration any more (history only).
    pub orphan: bool,
    /// The id the node's history records this orphan under, when it differs from `id`:
    /// a globally-unique clone's history entry without an instance number (written
    /// while the primitive was not yet, or no longer, in the clone) becomes a surplus
    /// copy `rsc:N`, but stopping it must act on the recorded entry.
    pub history_id: Option<String>,
    /// Template/definition digest changed: restart needed on these nodes.
    pub definition_changed: Vec<NodeIdx>,
    /// Nodes whose history has an entry for this primitive (for an anonymous clone
    /// instance: for any instance of it). Probes are only needed elsewhere.
    pub known_on: Vec<NodeIdx>,
    pub utilization: BTreeMap<String, i64>,
    /// Not to be touched: maintenance, unmanaged, blocked by a failure.
    pub blocked: bool,
}

impl Resource {
    pub fn is_primitive(&self) -> bool {
        matches!(self.kind, Kind::Primitive { .. })
    }
    /// A group's members start in order unless its (deprecated) `ordered` meta
    /// attribute is false.
    pub fn group_ordered(&self) -> bool {
        self.meta
            .get("ordered")
            .is_none_or(|v| crate::unpack::options::is_true(v))
    }
    pub fn agent_label(&self) -> String {
        match &self.kind {
            Kind::Primitive {
                class,
                provider,
                agent,
            } => match provider {
                Some(p) => format!("{class}:{p}:{agent}"),
                None => format!("{class}:{agent}"),
            },
            Kind::Group => "group".into(),
            Kind::Clone => "clone".into(),
        }
    }
    /// Nodes where the history says the resource is active.
    pub fn active_nodes(&self) -> impl Iterator<Item = &NodeStatus> {
        self.status.iter().filter(|s| s.role.is_active())
    }
    /// An `ocf:pacemaker:remote` connection (configured, or implicit for a guest node).
    pub fn is_remote_connection(&self) -> bool {
        matches!(&self.kind, Kind::Primitive { class, provider, agent }
            if class == "ocf" && provider.as_deref() == Some("pacemaker") && agent == "remote")
    }
    pub fn is_stonith(&self) -> bool {
        matches!(&self.kind, Kind::Primitive { class, .. } if class == "stonith")
    }
}

/// `rsc_location` after rule evaluation: a score for one resource on one node.
#[derive(Debug, Clone)]
pub struct Location {
    pub id: String,
    pub rsc: RscIdx,
    pub node: NodeIdx,
    pub score: i64,
    pub role: Option<Role>,
    /// resource-discovery=never/exclusive: skip probes here.
    pub discovery: Discovery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    Always,
    Never,
    Exclusive,
}

#[derive(Debug, Clone)]
pub struct Colocation {
    pub id: String,
    /// The dependent ("rsc"): placed relative to `primary`.
    pub dependent: RscIdx,
    /// The primary ("with-rsc").
    pub primary: RscIdx,
    pub score: i64,
    pub dependent_role: Option<Role>,
    pub primary_role: Option<Role>,
    /// node-attribute to compare instead of the node name.
    pub node_attribute: String,
    pub influence: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    Mandatory,
    Optional,
    Serialize,
}

#[derive(Debug, Clone)]
pub struct Ordering {
    pub id: String,
    pub first: RscIdx,
    pub first_action: String,
    pub then: RscIdx,
    pub then_action: String,
    pub kind: OrderKind,
    pub symmetrical: bool,
    /// For clone "first" with require-all=false: one instance suffices.
    pub require_all: bool,
    /// The `resource_set` id of `first` when it came from a set with
    /// require-all=false (any one member of the set suffices).
    pub first_set: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: String,
    pub granted: bool,
    pub standby: bool,
}

#[derive(Debug, Clone)]
pub struct TicketDep {
    pub id: String,
    pub rsc: RscIdx,
    pub ticket: String,
    pub role: Option<Role>,
    pub loss_policy: String,
}

#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub resources: Vec<Resource>,
    /// Top-level resources in configuration order.
    pub top: Vec<RscIdx>,
    pub locations: Vec<Location>,
    pub colocations: Vec<Colocation>,
    pub orderings: Vec<Ordering>,
    pub tickets: BTreeMap<String, Ticket>,
    pub ticket_deps: Vec<TicketDep>,
    pub options: ClusterOptions,
    pub warnings: Vec<String>,
    /// Current time in seconds since the epoch (for failure-timeout and rules).
    pub now: i64,
    /// Fail counts: (resource config id or instance id, node) → count and last failure.
    pub failcounts: BTreeMap<(RscIdx, NodeIdx), (i64, i64)>,
    /// A fence device exists and fencing is enabled (whether or not quorum allows it now).
    pub can_fence: bool,
    /// Resources launched inside another (`container` meta attribute) and that
    /// container: they run with it, start after it, and their failures are its own.
    pub contained: Vec<(RscIdx, RscIdx)>,
    /// (container, node) pairs where a contained resource failed to stop.
    pub contained_stop_failed: Vec<(RscIdx, NodeIdx)>,
    /// Implicit guest-node connection resources and their containers.
    pub guest_connections: Vec<(RscIdx, RscIdx)>,
    /// `<bundle>`s and the resources they were expanded into.
    pub bundles: Vec<Bundle>,
    /// Lookup tables built once after unpacking (see [`Cluster::build_index`]).
    pub index: Index,
}

/// A `<bundle>` as unpacked: a unique clone (the bundle's own id) whose instances are
/// the replicas' containers (grouped after their IP address when there is one), each
/// replica a guest node running one instance of the implicit clone of the bundle's
/// primitive.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub rsc: RscIdx,
    /// `ID-clone`, the implicit clone of the bundle's primitive (if it has one).
    pub child_clone: Option<RscIdx>,
    pub replicas: Vec<Replica>,
}

#[derive(Debug, Clone)]
pub struct Replica {
    pub ip: Option<RscIdx>,
    pub container: RscIdx,
    /// The Pacemaker Remote connection `ID-N` (only with a primitive).
    pub connection: Option<RscIdx>,
    /// Instance N of the primitive's clone, which runs on guest node `ID-N`.
    pub child: Option<RscIdx>,
    /// The guest node's name (`ID-N`).
    pub node: String,
}

/// Constraint lookups by resource, so placement stays linear in the cluster size.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Location constraints per resource index.
    pub locations: Vec<Vec<usize>>,
    /// Colocations touching each placement unit (top-level resource or clone).
    pub colocations: Vec<Vec<usize>>,
}

impl Cluster {
    /// The unit placed as a whole: the nearest clone, else the top-level resource.
    pub fn unit_of(&self, r: RscIdx) -> RscIdx {
        self.clone_of(r).unwrap_or_else(|| self.top_of(r))
    }

    pub fn build_index(&mut self) {
        let n = self.resources.len();
        let mut locations = vec![Vec::new(); n];
        for (i, l) in self.locations.iter().enumerate() {
            locations[l.rsc].push(i);
        }
        let mut colocations = vec![Vec::new(); n];
        for (i, c) in self.colocations.iter().enumerate() {
            let a = self.unit_of(c.dependent);
            let b = self.unit_of(c.primary);
            colocations[a].push(i);
            if b != a {
                colocations[b].push(i);
            }
        }
        self.index = Index {
            locations,
            colocations,
        };
    }

    /// The name constraints know `r` by: a bundle's for the implicit clone of its
    /// primitive (what "promote the bundle" acts on), else its own id.
    pub fn constraint_name(&self, r: RscIdx) -> &str {
        let b = self.bundles.iter().find(|b| b.child_clone == Some(r));
        &self.resources[b.map_or(r, |b| b.rsc)].id
    }

    /// A bundle replica's guest node: up for placement while it is online, even when
    /// its connection will not run (what is on it then stops for that connection).
    pub fn is_bundle_guest(&self, n: NodeIdx) -> bool {
        let name = &self.nodes[n].name;
        self.bundles.iter().flat_map(|b| &b.replicas).any(|r| &r.node == name)
    }

    pub fn node_by_name(&self, name: &str) -> Option<NodeIdx> {
        self.nodes.iter().position(|n| n.name == name)
    }
    pub fn rsc_by_id(&self, id: &str) -> Option<RscIdx> {
        self.resources.iter().position(|r| r.id == id)
    }
    /// All primitives below (and including) `r`.
    pub fn primitives_of(&self, r: RscIdx) -> Vec<RscIdx> {
        let mut out = Vec::new();
        let mut stack = vec![r];
        while let Some(x) = stack.pop() {
            if self.resources[x].is_primitive() {
                out.push(x);
            } else {
                for &c in self.resources[x].children.iter().rev() {
                    stack.push(c);
                }
            }
        }
        out
    }
    pub fn top_of(&self, mut r: RscIdx) -> RscIdx {
        while let Some(p) = self.resources[r].parent {
            r = p;
        }
        r
    }
    /// The nearest clone ancestor (or self), if any.
    pub fn clone_of(&self, r: RscIdx) -> Option<RscIdx> {
        let mut cur = Some(r);
        while let Some(x) = cur {
            if self.resources[x].kind == Kind::Clone {
                return Some(x);
            }
            cur = self.resources[x].parent;
        }
        None
    }
}
