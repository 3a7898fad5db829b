//! Which fencing devices can fence a node: the stonith `Primitive`s and a target node
//! in, the devices to try (in order, with the plug name to pass) out. Pure.
//!
//! Follows the device parameters Pacemaker documents: `pcmk_host_list` (nodes the
//! device can fence, space/comma separated) and `pcmk_host_map` (`node:plug;...`,
//! which also implies the node is fenceable). A device with neither is assumed to fence
//! any node by its name. Fencing topology levels are not applied yet.

use pacer_crds::{ParamFromSecret, Primitive};

use crate::op::Params;

#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    /// CIB id of the stonith primitive.
    pub id: String,
    /// Fence agent, e.g. `fence_ipmilan`.
    pub agent: String,
    pub params: Params,
    pub params_from: Vec<ParamFromSecret>,
    /// What to pass as `plug=`.
    pub plug: String,
}

fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split([' ', ',', ';', '\t', '\n'])
        .filter(|s| !s.is_empty())
}

/// The plug for `target` in a `pcmk_host_map` value (`n1:1;n2=2` forms both accepted).
fn map_plug(map: &str, target: &str) -> Option<String> {
    split_list(map).find_map(|entry| {
        let (node, plug) = entry.split_once([':', '='])?;
        (node == target).then(|| plug.to_string())
    })
}

/// Devices that can fence `target`, ordered by id.
pub fn devices_for(primitives: &[Primitive], target: &str) -> Vec<Device> {
    let mut out: Vec<Device> = primitives
        .iter()
        .filter(|p| p.spec.class.as_deref() == Some("stonith"))
        .filter_map(|p| {
            let agent = p.spec.type_.clone()?;
            let params: Params = p
                .spec
                .params
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect();
            let host_list = params.get("pcmk_host_list");
            let host_map = params.get("pcmk_host_map");
            let mapped = host_map.and_then(|m| map_plug(m, target));
            let listed = host_list.is_some_and(|l| split_list(l).any(|n| n == target));
            let unrestricted = host_list.is_none() && host_map.is_none();
            if mapped.is_none() && !listed && !unrestricted {
                return None;
            }
            let id = p
                .spec
                .id
                .clone()
                .or_else(|| p.metadata.name.clone())
                .unwrap_or_default();
            Some(Device {
                id,
                agent,
                plug: mapped.unwrap_or_else(|| target.to_string()),
                params,
                params_from: p.spec.params_from.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::PrimitiveSpec;

    fn stonith(name: &str, params: &[(&str, &str)]) -> Primitive {
        Primitive::new(
            name,
            PrimitiveSpec {
                class: Some("stonith".into()),
                type_: Some("fence_ipmilan".into()),
                params: Some(
                    params
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..PrimitiveSpec::default()
            },
        )
    }

    #[test]
    fn host_list_map_and_unrestricted_devices() {
        let prims = vec![
            stonith("f-n1", &[("pcmk_host_list", "n1"), ("ip", "10.0.0.1")]),
            stonith("f-map", &[("pcmk_host_map", "n1:blade1;n2:blade2")]),
            stonith("f-any", &[]),
            Primitive::new("web", PrimitiveSpec::default()),
        ];
        let n1: Vec<(String, String)> = devices_for(&prims, "n1")
            .into_iter()
            .map(|d| (d.id, d.plug))
            .collect();
        assert_eq!(
            n1,
            [
                ("f-any".to_string(), "n1".to_string()),
                ("f-map".into(), "blade1".into()),
                ("f-n1".into(), "n1".into())
            ]
        );
        let n3: Vec<String> = devices_for(&prims, "n3")
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(n3, ["f-any"]);
    }
}
