//! pacer's Kubernetes API (`ha.pacer.dev/v1alpha1`): one namespaced kind per CIB element,
//! field names a Pacemaker administrator recognises, mapping 1:1 to the CIB so a CIB can be
//! imported to manifests and exported back without loss (see `pacer import-cib`).
//!
//! Out: the typed kinds, and [`all_crds`] for `crdgen` / `pacer crds`.
#![forbid(unsafe_code)]
// kube's `printcolumn(name = .., type_ = ..)` repeats keys across columns by design.
#![allow(clippy::duplicated_attributes)]

pub mod bounds;
pub mod cluster;
pub mod common;
pub mod constraints;
pub mod nodes;
pub mod resources;
pub mod status;
pub mod transition;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use cluster::{
    Alert, AlertRecipient, AlertSpec, CibDocument, ClusterProperties, ClusterPropertiesSpec,
    FencingLevel, FencingTopology, FencingTopologySpec, OperationDefaults, OperationDefaultsSpec,
    ResourceDefaults, ResourceDefaultsSpec, Tag, TagSpec,
};
pub use common::{
    AttributeSet, Attributes, Condition, DateExpression, DateFields, Expression, Interval,
    NestedCondition, NestedRule, NvPair, OperationExpression, ResourceExpression, Rule, Score,
    SecretKeyRef, ValueFrom,
};
pub use constraints::{
    Colocation, ColocationSpec, Location, LocationSpec, Order, OrderSpec, ResourceSet, Ticket,
    TicketSpec,
};
pub use nodes::{
    ClusterNode, ClusterNodeSpec, Lrm, LrmOperation, LrmResource, NodeState, NodeStateSpec,
    TicketState, TicketStateSpec, TransientAttributes,
};
pub use resources::{
    Bundle, BundleContainer, BundleNetwork, BundlePortMapping, BundleSpec, BundleStorageMapping,
    Clone, CloneSpec, Group, GroupSpec, Operation, ParamFromSecret, Primitive, PrimitiveSpec,
    ResourceTemplate, ResourceTemplateSpec,
};
pub use status::{
    CleanupStatus, ClusterNodeStatus, ClusterStatus, ConstraintStatus, FailedAction, ResourceStatus,
};
pub use transition::{
    AgentRef, FencingHistory, FencingHistorySpec, Transition, TransitionAction,
    TransitionActionStatus, TransitionSpec, TransitionStatus,
};

/// The API group of every pacer kind.
pub const GROUP: &str = "ha.pacer.dev";
/// The API version of every pacer kind.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` as written in manifests.
pub const API_VERSION: &str = "ha.pacer.dev/v1alpha1";

/// Every CRD pacer serves, in a stable order (resources, constraints, cluster, nodes),
/// with size bounds on every list, map and string (see [`bounds`]).
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        Primitive::crd(),
        ResourceTemplate::crd(),
        Group::crd(),
        Clone::crd(),
        Bundle::crd(),
        Location::crd(),
        Colocation::crd(),
        Order::crd(),
        Ticket::crd(),
        ClusterProperties::crd(),
        ResourceDefaults::crd(),
        OperationDefaults::crd(),
        Tag::crd(),
        FencingTopology::crd(),
        Alert::crd(),
        ClusterNode::crd(),
        NodeState::crd(),
        TicketState::crd(),
        Transition::crd(),
        FencingHistory::crd(),
    ];
    for crd in &mut crds {
        // Transition and FencingHistory (operator records) keep their own sizes.
        if !matches!(
            crd.spec.names.kind.as_str(),
            "Transition" | "FencingHistory"
        ) {
            bounds::apply(crd);
        }
    }
    crds
}

/// The API resource of a pacer kind for dynamic clients, its plural taken from the CRD
/// definitions (`Primitive` → `primitives`, `FencingHistory` → `fencinghistories`); `None`
/// for a kind pacer does not serve.
pub fn api_resource(kind: &str) -> Option<kube::core::ApiResource> {
    static PLURALS: std::sync::OnceLock<std::collections::BTreeMap<String, String>> =
        std::sync::OnceLock::new();
    let plural = PLURALS
        .get_or_init(|| {
            all_crds()
                .into_iter()
                .map(|c| (c.spec.names.kind, c.spec.names.plural))
                .collect()
        })
        .get(kind)?;
    Some(kube::core::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk(GROUP, VERSION, kind),
        plural,
    ))
}

/// One CRD as YAML (a single document, without `---`).
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_saphyr::SerializeError> {
    serde_saphyr::to_string(crd)
}

/// All CRDs as one multi-document YAML stream.
pub fn all_crds_yaml() -> Result<String, serde_saphyr::SerializeError> {
    let mut out = String::new();
    for crd in all_crds() {
        out.push_str("---\n");
        out.push_str(&crd_yaml(&crd)?);
    }
    Ok(out)
}
