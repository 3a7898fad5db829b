//! The CIB bridge: Pacemaker CIB XML (configuration and status) to typed pacer objects and
//! multi-document YAML manifests, and back.
//!
//! In: CIB XML ([`import::import_cib`]) or manifests ([`manifest::parse_manifests`]).
//! Out: typed [`Object`]s, YAML ([`manifest::to_yaml`]) or CIB XML that crm_simulate
//! accepts ([`export::export_cib`]). Import then export reproduces the CIB's semantics:
//! CIB ids are kept (in `spec.id` when they are not valid Kubernetes names), anything the
//! model cannot represent is an error naming the element and its line.

pub mod export;
pub mod import;
pub mod manifest;
pub mod names;
mod object;
mod sets;
mod xml;

pub use object::Object;

/// What can go wrong between CIB XML and manifests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("CIB XML is not well-formed: {0}")]
    Xml(String),
    #[error("line {line}: <{element}>: {message}")]
    Unsupported {
        element: String,
        line: u32,
        message: String,
    },
    #[error("manifest document {doc}: {message}")]
    Manifest { doc: usize, message: String },
    #[error("{kind} {name}: {message}")]
    Object {
        kind: &'static str,
        name: String,
        message: String,
    },
    #[error("YAML output failed: {0}")]
    Yaml(String),
}
