//! Tests against a real kube-apiserver (v1.37) with pacer's CRDs and RBAC installed.
//! One control plane for the whole binary; every test uses its own namespace.

mod crds;
mod manifests;
mod rbac;
mod validation;
