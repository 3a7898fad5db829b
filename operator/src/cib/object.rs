//! [`Object`]: any pacer kind (or a Secret holding agent credentials), as one value.

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use pacer_crds::*;
use serde::Serialize;

/// One manifest document.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Primitive(Primitive),
    ResourceTemplate(ResourceTemplate),
    Group(Group),
    Clone(Clone),
    Bundle(Bundle),
    Location(Location),
    Colocation(Colocation),
    Order(Order),
    Ticket(Ticket),
    ClusterProperties(ClusterProperties),
    ResourceDefaults(ResourceDefaults),
    OperationDefaults(OperationDefaults),
    Tag(Tag),
    FencingTopology(FencingTopology),
    Alert(Alert),
    ClusterNode(ClusterNode),
    NodeState(NodeState),
    TicketState(TicketState),
    /// Credentials referenced by `paramsFrom` / `valueFrom`.
    Secret(Secret),
}

macro_rules! each {
    ($self:expr, $o:ident => $e:expr) => {
        match $self {
            Object::Primitive($o) => $e,
            Object::ResourceTemplate($o) => $e,
            Object::Group($o) => $e,
            Object::Clone($o) => $e,
            Object::Bundle($o) => $e,
            Object::Location($o) => $e,
            Object::Colocation($o) => $e,
            Object::Order($o) => $e,
            Object::Ticket($o) => $e,
            Object::ClusterProperties($o) => $e,
            Object::ResourceDefaults($o) => $e,
            Object::OperationDefaults($o) => $e,
            Object::Tag($o) => $e,
            Object::FencingTopology($o) => $e,
            Object::Alert($o) => $e,
            Object::ClusterNode($o) => $e,
            Object::NodeState($o) => $e,
            Object::TicketState($o) => $e,
            Object::Secret($o) => $e,
        }
    };
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Primitive(_) => "Primitive",
            Object::ResourceTemplate(_) => "ResourceTemplate",
            Object::Group(_) => "Group",
            Object::Clone(_) => "Clone",
            Object::Bundle(_) => "Bundle",
            Object::Location(_) => "Location",
            Object::Colocation(_) => "Colocation",
            Object::Order(_) => "Order",
            Object::Ticket(_) => "Ticket",
            Object::ClusterProperties(_) => "ClusterProperties",
            Object::ResourceDefaults(_) => "ResourceDefaults",
            Object::OperationDefaults(_) => "OperationDefaults",
            Object::Tag(_) => "Tag",
            Object::FencingTopology(_) => "FencingTopology",
            Object::Alert(_) => "Alert",
            Object::ClusterNode(_) => "ClusterNode",
            Object::NodeState(_) => "NodeState",
            Object::TicketState(_) => "TicketState",
            Object::Secret(_) => "Secret",
        }
    }

    /// metadata.name
    pub fn name(&self) -> String {
        each!(self, o => o.name_any())
    }

    /// One of metadata.annotations.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        each!(self, o => o.annotations().get(key).map(String::as_str))
    }

    /// metadata (resourceVersion, generation, …).
    pub fn meta(&self) -> &kube::api::ObjectMeta {
        each!(self, o => kube::Resource::meta(o))
    }

    /// The object as JSON (apiVersion, kind, metadata, spec).
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        each!(self, o => to_json(o))
    }
}

fn to_json<T: Serialize>(o: &T) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::to_value(o)
}
