//! Resource placement: node weights (locations, stickiness, failures, availability),
//! colocation-aware allocation order, and the chosen node per resource.
//! In: [`Cluster`] + fencing decisions. Out: [`Placement`] (node and role per resource).

use crate::{
    clones, colocation, failures,
    model::{Cluster, Kind, NodeIdx, Role, RscIdx},
    score::{self, INFINITY},
};

#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Chosen node per resource (primitives, groups, clone instances).
    pub node: Vec<Option<NodeIdx>>,
    /// Target role per primitive (Stopped when not placed).
    pub role: Vec<Role>,
    /// Allocation scores per resource, for `-s` output.
    pub scores: Vec<(String, RscIdx, Vec<i64>)>,
    /// Primitives that are active somewhere but must not be touched.
    pub frozen: Vec<bool>,
    /// Resources assigned so far per node (load balancing).
    pub load: Vec<usize>,
    /// Utilization consumed so far per node.
    pub used: Vec<crate::utilization::Usage>,
    state: Vec<u8>,
}

impl Placement {
    /// A remote/guest node is usable once its connection/container has been placed.
    pub fn remote_up(&self, cl: &Cluster, n: NodeIdx) -> bool {
        cl.nodes[n].remote_of.is_none_or(|c| self.node[c].is_some())
            || (cl.nodes[n].online && cl.is_bundle_guest(n))
    }

    /// Nodes where `r` (any kind) ended up; for clones, the nodes of its instances
    /// (only instances in `role` when given, and not those blocked by a failure).
    pub fn nodes_of(&self, cl: &Cluster, r: RscIdx, role: Option<Role>) -> Vec<NodeIdx> {
        let res = &cl.resources[r];
        if res.kind == Kind::Clone {
            let mut out = Vec::new();
            for &i in &res.children {
                // An instance held where it failed (on-fail=block) is no place for
                // dependents to join.
                let failed_blocked = cl.primitives_of(i).iter().any(|&p| {
                    cl.resources[p]
                        .status
                        .iter()
                        .any(|s| s.failed && s.on_fail == Some(crate::model::OnFail::Block))
                });
                if failed_blocked {
                    continue;
                }
                if let Some(n) = self.node[i] {
                    if let Some(want) = role {
                        let prims = cl.primitives_of(i);
                        if !prims.iter().any(|&p| self.role[p] == want) {
                            continue;
                        }
                    }
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
            }
            return out;
        }
        if let Some(want) = role {
            let prims = cl.primitives_of(r);
            if !prims.iter().any(|&p| self.role[p] == want) {
                return Vec::new();
            }
        }
        self.node[r].into_iter().collect()
    }
}

/// The unit that is placed as a whole: a top-level resource, or a clone.
fn unit_of(cl: &Cluster, r: RscIdx) -> RscIdx {
    cl.unit_of(r)
}

/// Location scores that apply to `r` itself (not its ancestors), for the Started role.
fn own_locations(cl: &Cluster, r: RscIdx, w: &mut [i64]) {
    for l in cl.index.locations[r].iter().map(|&i| &cl.locations[i]) {
        if l.rsc == r && l.role.is_none_or(|x| x == Role::Started) {
            w[l.node] = score::add(w[l.node], l.score);
        }
    }
}

/// Preferences of one primitive apart from its parents: its locations, stickiness
/// where it is active, failure bans.
pub fn primitive_prefs(cl: &Cluster, r: RscIdx, w: &mut [i64]) {
    own_locations(cl, r, w);
    let res = &cl.resources[r];
    // A multiply active resource sticks nowhere (crm_simulate: no stickiness at all).
    let single = res.active_nodes().nth(1).is_none();
    for s in res.active_nodes().filter(|_| single) {
        if !s.failed || res.stickiness > 0 && !s.banned {
            w[s.node] = score::add(w[s.node], res.stickiness);
        }
    }
    failures::apply_bans(cl, r, w);
}

/// An anonymous clone's instances are interchangeable, so a hard failure of any of
/// them (not installed, start failure, ...) bans the whole clone from that node.
fn anonymous_bans(cl: &Cluster, c: RscIdx, w: &mut [i64]) {
    if cl.resources[c].clone.as_ref().is_none_or(|x| x.unique) {
        return;
    }
    for p in cl.primitives_of(c) {
        for s in cl.resources[p].status.iter().filter(|s| s.banned) {
            w[s.node] = -INFINITY;
        }
    }
}

/// A resource's own node weights (without colocations), including its ancestors'
/// locations (groups, clones) and node availability.
pub fn own_weights(cl: &Cluster, r: RscIdx) -> Vec<i64> {
    // Asymmetric clusters start from 0 too, but only nodes some location constraint
    // (on the resource, an ancestor or a member) mentions are allowed at all.
    let mut w = vec![0; cl.nodes.len()];
    // Asymmetric clusters: a location on any ancestor opens a node.
    let mut cur = cl.resources[r].parent;
    while let Some(p) = cur {
        own_locations(cl, p, &mut w);
        cur = cl.resources[p].parent;
    }
    match cl.resources[r].kind {
        Kind::Primitive { .. } => primitive_prefs(cl, r, &mut w),
        Kind::Group => {
            own_locations(cl, r, &mut w);
            // Members are merged from the last one forwards; a later member whose
            // preferences would leave the group nowhere to run is left out (it will
            // simply not run).
            let avail: Vec<bool> = cl.nodes.iter().map(|n| n.can_host()).collect();
            let mut acc = vec![0; cl.nodes.len()];
            for &m in cl.resources[r].children.iter().rev() {
                let mut mw = vec![0; cl.nodes.len()];
                primitive_prefs(cl, m, &mut mw);
                let with_later: Vec<i64> = mw
                    .iter()
                    .zip(&acc)
                    .map(|(&a, &b)| score::add(a, b))
                    .collect();
                let runnable =
                    (0..w.len()).any(|n| avail[n] && score::add(w[n], with_later[n]) >= 0);
                acc = if runnable { with_later } else { mw };
            }
            for n in 0..w.len() {
                w[n] = score::add(w[n], acc[n]);
            }
        }
        Kind::Clone => {
            own_locations(cl, r, &mut w);
            anonymous_bans(cl, r, &mut w);
        }
    }
    // Asymmetric clusters: a guest node's connection may run wherever its container
    // does (the colocation with the container decides).
    if !cl.options.symmetric && !cl.guest_connections.iter().any(|&(conn, _)| conn == r) {
        let mut opened = vec![false; cl.nodes.len()];
        let mut scope: Vec<RscIdx> = cl.primitives_of(r);
        scope.push(r);
        let mut cur = cl.resources[r].parent;
        while let Some(p) = cur {
            scope.push(p);
            cur = cl.resources[p].parent;
        }
        for x in scope {
            for l in cl.index.locations[x].iter().map(|&i| &cl.locations[i]) {
                opened[l.node] = true;
            }
        }
        for n in 0..w.len() {
            if !opened[n] {
                w[n] = -INFINITY;
            }
        }
    }
    // resource-discovery=exclusive: only the nodes such locations name may run it.
    {
        let mut scope: Vec<RscIdx> = cl.primitives_of(r);
        scope.push(r);
        let mut cur = cl.resources[r].parent;
        while let Some(p) = cur {
            scope.push(p);
            cur = cl.resources[p].parent;
        }
        let mut exclusive: Option<Vec<bool>> = None;
        for x in scope {
            for l in cl.index.locations[x].iter().map(|&i| &cl.locations[i]) {
                if l.discovery == crate::model::Discovery::Exclusive {
                    exclusive.get_or_insert_with(|| vec![false; cl.nodes.len()])[l.node] = true;
                }
            }
        }
        if let Some(ok) = exclusive {
            for (n, x) in w.iter_mut().enumerate() {
                if !ok[n] {
                    *x = -INFINITY;
                }
            }
        }
    }
    for (n, x) in w.iter_mut().enumerate() {
        let h = crate::health::node_score(cl, n);
        if h != 0 {
            *x = score::add(*x, h);
        }
    }
    let is_connection = cl
        .nodes
        .iter()
        .any(|n| n.remote_of == Some(r) || n.container == Some(r))
        // Fence devices never run on remote or guest nodes either.
        || cl.primitives_of(r).iter().any(|&p| cl.resources[p].is_stonith());
    for (n, node) in cl.nodes.iter().enumerate() {
        if !node.can_host() || (is_connection && node.remote_of.is_some()) {
            w[n] = -INFINITY;
        }
    }
    w
}

/// Pick the best node: highest weight (must be ≥ 0) among nodes with capacity for
/// `need`; ties keep the current node, then follow the placement strategy (least
/// loaded / most free capacity), then node name.
pub fn choose(
    cl: &Cluster,
    w: &[i64],
    current: Option<NodeIdx>,
    p: &Placement,
    need: &crate::utilization::Usage,
    prefer: Option<NodeIdx>,
) -> Option<NodeIdx> {
    let ok = |n: NodeIdx| {
        w[n] >= 0
            && cl.nodes[n].can_host()
            && p.remote_up(cl, n)
            && crate::utilization::fits(cl, n, &p.used[n], need)
    };
    let best = (0..w.len()).filter(|&n| ok(n)).map(|n| w[n]).max()?;
    if let Some(n) = prefer.filter(|&n| ok(n) && w[n] == best) {
        return Some(n);
    }
    // Equal scores: the strategy decides (least loaded / most free capacity); only
    // then does the current node win, then the node name.
    let strategy = cl.options.placement_strategy.as_str();
    (0..w.len())
        .filter(|&n| w[n] == best && ok(n))
        .min_by(|&a, &b| {
            let by_strategy = match strategy {
                "balanced" => crate::utilization::compare_free(cl, a, b, &p.used)
                    .then(p.load[a].cmp(&p.load[b])),
                "minimal" => std::cmp::Ordering::Equal,
                _ => p.load[a].cmp(&p.load[b]),
            };
            by_strategy
                .then((Some(a) != current).cmp(&(Some(b) != current)))
                .then(cl.nodes[a].name.cmp(&cl.nodes[b].name))
        })
}

/// Where the resource (any member) is active now.
pub fn current_node(cl: &Cluster, r: RscIdx) -> Option<NodeIdx> {
    cl.primitives_of(r)
        .into_iter()
        .flat_map(|p| {
            cl.resources[p]
                .active_nodes()
                .map(|s| s.node)
                .collect::<Vec<_>>()
        })
        .next()
}

fn in_scope(cl: &Cluster, scope: RscIdx, r: RscIdx) -> bool {
    let mut cur = Some(r);
    while let Some(x) = cur {
        if x == scope {
            return true;
        }
        cur = cl.resources[x].parent;
    }
    false
}

pub struct Planner<'a> {
    pub cl: &'a Cluster,
    pub p: Placement,
}

impl<'a> Planner<'a> {
    pub fn new(cl: &'a Cluster) -> Self {
        let n = cl.resources.len();
        Planner {
            cl,
            p: Placement {
                node: vec![None; n],
                role: vec![Role::Stopped; n],
                scores: Vec::new(),
                frozen: vec![false; n],
                load: vec![0; cl.nodes.len()],
                used: vec![Default::default(); cl.nodes.len()],
                state: vec![0; n],
            },
        }
    }

    /// Allocation order: priority (highest first), then configuration order.
    pub fn run(mut self) -> Placement {
        let cl = self.cl;
        let mut order: Vec<RscIdx> = cl.top.clone();
        // Priority first; then resources already running with a higher score where
        // they run; then the higher best score; then configuration order.
        let keys: Vec<(i64, i64, i64)> = order
            .iter()
            .map(|&r| {
                let w = own_weights(cl, r);
                // A current node without the capacity the resource needs does not count.
                let need = crate::utilization::required(cl, &cl.primitives_of(r));
                let cur = current_node(cl, r)
                    .map(|n| {
                        if crate::utilization::fits(cl, n, &Default::default(), &need) {
                            w[n]
                        } else {
                            -INFINITY
                        }
                    })
                    .unwrap_or(-INFINITY - 1);
                let best = w.iter().copied().max().unwrap_or(-INFINITY);
                if crate::utilization::enforced(cl) {
                    (-cl.resources[r].priority, -cur, -best)
                } else {
                    (-cl.resources[r].priority, 0, 0)
                }
            })
            .collect();
        let mut idx: Vec<usize> = (0..order.len()).collect();
        // Remote connections and guest containers first: nodes they provide must be
        // known before anything is placed on them.
        // (A bundle is placed in its turn, its connections with it: what comes
        // before it in the configuration may not use its guest nodes anyway.)
        let provides_node = |r: RscIdx| {
            cl.nodes.iter().enumerate().any(|(i, n)| {
                (n.remote_of.is_some_and(|c| cl.top_of(c) == r)
                    || n.container.is_some_and(|c| cl.top_of(c) == r))
                    && !cl.is_bundle_guest(i)
            })
        };
        idx.sort_by_key(|&i| (!provides_node(order[i]), keys[i]));
        order = idx.into_iter().map(|i| order[i]).collect();
        for r in order {
            self.assign(r);
        }
        self.p
    }

    /// The merged preferences of `r` and (recursively) its unplaced dependents.
    fn merged_weights(&self, r: RscIdx, depth: usize, visited: &mut Vec<RscIdx>) -> Vec<i64> {
        let cl = self.cl;
        let mut w = own_weights(cl, r);
        if depth > 4 {
            return w;
        }
        visited.push(r);
        for c in cl.index.colocations[unit_of(cl, r)]
            .iter()
            .map(|&i| &cl.colocations[i])
        {
            if !c.influence
                || !colocation::affects_placement(c)
                || c.primary_role.is_some_and(|x| x == Role::Promoted)
            {
                continue;
            }
            if !in_scope(cl, r, c.primary) || in_scope(cl, r, c.dependent) {
                continue;
            }
            let d = unit_of(cl, c.dependent);
            if self.p.state[d] != 0 || visited.contains(&d) {
                continue;
            }
            if cl.resources[d].kind == Kind::Clone || cl.resources[r].kind == Kind::Clone {
                continue;
            }
            let factor = c.score as f64 / INFINITY as f64;
            let dw = self.merged_weights(d, depth + 1, visited);
            let before = w.clone();
            colocation::merge_preferences(&mut w, &dw, factor);
            // A dependent's preferences may not leave its primary nowhere to run.
            if before.iter().any(|&x| x >= 0) && !w.iter().any(|&x| x >= 0) {
                w = before;
            }
        }
        w
    }

    /// The merged preferences of a unit not placed yet (its own, its dependents').
    pub fn unplaced_weights(&self, r: RscIdx) -> Vec<i64> {
        self.merged_weights(r, 0, &mut Vec::new())
    }

    pub fn assign(&mut self, r: RscIdx) {
        let cl = self.cl;
        let r = unit_of(cl, r);
        if self.p.state[r] != 0 {
            return;
        }
        self.p.state[r] = 1;
        // Primaries first: the highest priority first, then by id (whether the
        // colocation names the unit or one of its members; crm_simulate 2.1.5).
        let mut primaries: Vec<RscIdx> = cl.index.colocations[unit_of(cl, r)]
            .iter()
            .map(|&i| &cl.colocations[i])
            .filter(|c| in_scope(cl, r, c.dependent) && !in_scope(cl, r, c.primary))
            .map(|c| c.primary)
            .collect();
        primaries.sort_by(|&a, &b| {
            let (ra, rb) = (&cl.resources[a], &cl.resources[b]);
            rb.priority.cmp(&ra.priority).then(ra.id.cmp(&rb.id))
        });
        for p in primaries {
            let pu = unit_of(cl, p);
            if self.p.state[pu] == 0 {
                self.assign(pu);
            }
        }
        if cl.resources[r].kind == Kind::Clone {
            clones::assign_clone(self, r);
            self.p.state[r] = 2;
            return;
        }
        let mut visited = Vec::new();
        let mut w = self.merged_weights(r, 0, &mut visited);
        self.apply_primaries(r, &mut w);
        let chosen = self.place_unit(r, &w);
        let _ = chosen;
        self.p.state[r] = 2;
    }

    /// Apply colocations with already-placed primaries to `w` (for unit `r`).
    pub fn apply_primaries(&self, r: RscIdx, w: &mut [i64]) {
        let cl = self.cl;
        for c in cl.index.colocations[unit_of(cl, r)]
            .iter()
            .map(|&i| &cl.colocations[i])
        {
            if !in_scope(cl, r, c.dependent)
                || in_scope(cl, r, c.primary)
                || !colocation::affects_placement(c)
            {
                continue;
            }
            let pu = unit_of(cl, c.primary);
            if self.p.state[pu] != 2 {
                continue;
            }
            let mut nodes = self.p.nodes_of(cl, c.primary, c.primary_role);
            // Mandatory with a group: with all of it, so where its last member runs
            // (members start in order; one that could not leaves no such place).
            let prim = &cl.resources[c.primary];
            if c.score >= INFINITY
                && prim.kind == Kind::Group
                && let Some(&last) = prim.children.last()
            {
                nodes.retain(|&n| self.p.node[last] == Some(n));
            }
            colocation::apply_to_dependent(cl, c, w, &nodes);
        }
    }

    /// Place a primitive or group on the best node of `w`; record scores and roles.
    pub fn place_unit(&mut self, r: RscIdx, w: &[i64]) -> Option<NodeIdx> {
        let cl = self.cl;
        let res = &cl.resources[r];
        self.p.scores.push((res.id.clone(), r, w.to_vec()));
        let current = current_node(cl, r);
        let ticket = crate::tickets::effect(cl, r);
        let frozen = !res.managed
            || cl
                .primitives_of(r)
                .iter()
                .any(|&p| !cl.resources[p].managed || cl.resources[p].blocked)
            || ticket == crate::tickets::TicketEffect::Freeze;
        // A group's target-role reaches it through its members (a member's own wins).
        let role_stopped = match res.kind {
            Kind::Group => res
                .children
                .iter()
                .all(|&m| cl.resources[m].target_role == Some(Role::Stopped)),
            _ => res.target_role == Some(Role::Stopped),
        };
        let stopped = role_stopped
            || cl.options.stop_all_resources
            || crate::failures::stop_after_failure(cl, r)
            || ticket >= crate::tickets::TicketEffect::Stop;
        // A managed group held in place by an unmanaged member: the others stay off
        // too when its node is now forbidden (the held member stays regardless).
        let member_held = res.kind == Kind::Group
            && res.managed
            && ticket != crate::tickets::TicketEffect::Freeze;
        let node = if frozen {
            current.filter(|&n| !(member_held && w[n] <= -INFINITY))
        } else if stopped {
            None
        } else {
            // Capacity for the resource and everything that must run with it; when
            // no node has room for all of that, the resource alone, preferring the
            // node with the most room left.
            let need = self.chain_need(r);
            let own = crate::utilization::own_need(cl, r);
            choose(cl, w, current, &self.p, &need, None).or_else(|| {
                let open: Vec<NodeIdx> = (0..w.len())
                    .filter(|&n| w[n] >= 0 && cl.nodes[n].can_host() && self.p.remote_up(cl, n))
                    .collect();
                let prefer = crate::utilization::most_free(cl, &open, &self.p.used);
                choose(cl, w, current, &self.p, &own, prefer)
            })
        };
        self.commit(r, node);
        node
    }

    /// Capacity `r` needs with the unplaced resources colocated with it.
    pub fn chain_need(&self, r: RscIdx) -> crate::utilization::Usage {
        let placed = |u: RscIdx| self.p.state[u] == 2;
        crate::utilization::chain_need(self.cl, r, &placed)
    }

    fn started_role(&self, p: RscIdx) -> Role {
        let cl = self.cl;
        if cl.resources[p]
            .parent
            .and_then(|x| cl.clone_of(x))
            .and_then(|c| cl.resources[c].clone.as_ref())
            .is_some_and(|c| c.promotable)
        {
            Role::Unpromoted
        } else {
            Role::Started
        }
    }

    /// Record `r` (primitive or group) on `node`; group members follow in order
    /// until one cannot run there.
    pub fn commit(&mut self, r: RscIdx, node: Option<NodeIdx>) {
        let cl = self.cl;
        let res = &cl.resources[r];
        self.p.node[r] = node;
        match res.kind {
            Kind::Primitive { .. } => {
                if !res.managed || res.blocked {
                    self.p.frozen[r] = true;
                    self.p.node[r] = current_node(cl, r);
                }
                if let Some(n) = self.p.node[r] {
                    self.p.load[n] += 1;
                    crate::utilization::add(&mut self.p.used[n], &res.utilization);
                    self.p.role[r] = self.started_role(r);
                }
            }
            Kind::Group => {
                let mut ok = node.is_some();
                for &m in &res.children {
                    let mres = &cl.resources[m];
                    if !mres.managed || mres.blocked {
                        self.p.frozen[m] = true;
                        self.p.node[m] = current_node(cl, m);
                        if self.p.node[m].is_some() {
                            self.p.role[m] = self.started_role(m);
                        }
                        // Later members go where this one is: nowhere else.
                        if self.p.node[m] != node {
                            ok = false;
                        }
                        continue;
                    }
                    let mut mw = vec![0; cl.nodes.len()];
                    primitive_prefs(cl, m, &mut mw);
                    let mstopped = mres.target_role == Some(Role::Stopped);
                    // Members start in order while each still has room.
                    if let (true, Some(n)) = (ok, node)
                        && mw[n] > -INFINITY
                        && !mstopped
                        && crate::utilization::fits(cl, n, &self.p.used[n], &mres.utilization)
                    {
                        self.p.node[m] = Some(n);
                        self.p.role[m] = self.started_role(m);
                        self.p.load[n] += 1;
                        crate::utilization::add(&mut self.p.used[n], &mres.utilization);
                        continue;
                    }
                    ok = false;
                }
            }
            Kind::Clone => {}
        }
    }
}

/// Run placement for the whole cluster.
pub fn place(cl: &Cluster) -> Placement {
    Planner::new(cl).run()
}
