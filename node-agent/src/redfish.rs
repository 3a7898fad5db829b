//! Native Redfish fencing (stonith type `redfish`): a BMC address, credentials and a fence
//! action in; `ComputerSystem.Reset` and power-state verification out, as an
//! [`ActionResult`] like any fence agent's.
//!
//! Parameters are fence_redfish's, so a device switches between the Python agent and this
//! client by its `type` only: `ip` (or `ipaddr`, may carry `:port`), `ipport` (443),
//! `username`/`login`, `password`/`passwd` (from a Secret), `systems_uri` (else discovered:
//! the only member of `/redfish/v1/Systems`, or the one whose Id or Name is the plug),
//! `ssl_insecure` (accept a self-signed certificate), `power_timeout` (seconds to wait for
//! the new power state, 20). `ssl=0` talks plain HTTP (test rigs only).
//!
//! `off` is `ForceOff` and succeeds only once the system reports `PowerState: Off` (a
//! BMC that accepts the request but never powers off is a failed fence). `reboot` is off
//! (verified), then `On`. `status`: 0 on, 7 off. `monitor`: the BMC answers. `list`: one
//! `Id,Name` line per system.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    op::{ActionResult, OcfRc, OpStatus, Params},
    stonith::FenceAction,
};

/// The stonith `type` served natively.
pub const AGENT: &str = "redfish";

#[derive(Debug, thiserror::Error)]
enum RfError {
    #[error("{0}")]
    Config(String),
    #[error("cannot reach the BMC at {url}: {why}")]
    Unreachable { url: String, why: String },
    #[error("BMC refused the credentials (HTTP {0})")]
    Auth(u16),
    #[error("BMC answered HTTP {status} for {what}")]
    Http { status: u16, what: String },
    #[error("BMC sent an unexpected document for {0}")]
    Document(String),
    #[error("power state still '{state}' {waited} ms after {reset}")]
    NotReached {
        state: String,
        waited: u128,
        reset: String,
    },
}

fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
}

struct Bmc {
    http: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

impl Bmc {
    fn new(params: &Params, timeout: Duration) -> Result<Bmc, RfError> {
        // reqwest is built without a bundled crypto provider; use ring, as kube does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let host = params
            .get("ip")
            .or_else(|| params.get("ipaddr"))
            .ok_or_else(|| RfError::Config("parameter 'ip' is required".into()))?
            .trim();
        let plain = matches!(params.get("ssl").map(str::trim), Some("0" | "false" | "no" | "off"));
        let scheme = if plain { "http" } else { "https" };
        let default_port = if plain { "80" } else { "443" };
        let port = params.get("ipport").unwrap_or(default_port).trim();
        let authority = if host.contains(':') && !host.starts_with('[') && host.matches(':').count() == 1 {
            host.to_string()
        } else if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let http = reqwest::Client::builder()
            .tls_danger_accept_invalid_certs(truthy(params.get("ssl_insecure")))
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .build()
            .map_err(|e| RfError::Config(format!("HTTP client: {e}")))?;
        Ok(Bmc {
            http,
            base: format!("{scheme}://{authority}"),
            user: params
                .get("username")
                .or_else(|| params.get("login"))
                .unwrap_or("")
                .to_string(),
            password: params
                .get("password")
                .or_else(|| params.get("passwd"))
                .unwrap_or("")
                .to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    async fn check(&self, r: reqwest::Result<reqwest::Response>, what: &str) -> Result<reqwest::Response, RfError> {
        let r = r.map_err(|e| RfError::Unreachable {
            url: self.base.clone(),
            why: error_chain(&e),
        })?;
        let status = r.status().as_u16();
        if status == 401 || status == 403 {
            return Err(RfError::Auth(status));
        }
        if !r.status().is_success() {
            return Err(RfError::Http {
                status,
                what: what.to_string(),
            });
        }
        Ok(r)
    }

    async fn get(&self, path: &str) -> Result<Value, RfError> {
        let r = self
            .http
            .get(self.url(path))
            .basic_auth(&self.user, Some(&self.password))
            .header("Accept", "application/json")
            .send()
            .await;
        let r = self.check(r, path).await?;
        r.json::<Value>()
            .await
            .map_err(|_| RfError::Document(path.to_string()))
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(), RfError> {
        let r = self
            .http
            .post(self.url(path))
            .basic_auth(&self.user, Some(&self.password))
            .json(body)
            .send()
            .await;
        self.check(r, path).await.map(|_| ())
    }

    /// `(id, name, @odata.id)` of every system.
    async fn systems(&self) -> Result<Vec<(String, String, String)>, RfError> {
        let col = self.get("/redfish/v1/Systems").await?;
        let mut out = Vec::new();
        for m in col["Members"].as_array().into_iter().flatten() {
            let Some(uri) = m["@odata.id"].as_str() else {
                continue;
            };
            let sys = self.get(uri).await?;
            out.push((
                sys["Id"].as_str().unwrap_or_default().to_string(),
                sys["Name"].as_str().unwrap_or_default().to_string(),
                uri.to_string(),
            ));
        }
        Ok(out)
    }

    /// The system to act on: `systems_uri`, else the only one, else the plug's.
    async fn system_uri(&self, params: &Params, plug: Option<&str>) -> Result<String, RfError> {
        if let Some(u) = params.get("systems_uri").filter(|u| !u.trim().is_empty()) {
            return Ok(u.trim().to_string());
        }
        let all = self.systems().await?;
        if let [(_, _, uri)] = all.as_slice() {
            return Ok(uri.clone());
        }
        let plug = plug.unwrap_or_default();
        all.into_iter()
            .find(|(id, name, _)| id == plug || name == plug)
            .map(|(_, _, uri)| uri)
            .ok_or_else(|| {
                RfError::Config(format!(
                    "several systems and none is '{plug}': set systems_uri or pcmk_host_map"
                ))
            })
    }

    async fn power_state(&self, system: &str) -> Result<String, RfError> {
        let s = self.get(system).await?;
        s["PowerState"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| RfError::Document(format!("{system} (no PowerState)")))
    }

    /// Posts `ComputerSystem.Reset` with `reset` and waits until `PowerState` is `want`.
    async fn reset_and_verify(
        &self,
        system: &str,
        reset: &str,
        want: &str,
        wait: Duration,
    ) -> Result<(), RfError> {
        let doc = self.get(system).await?;
        if doc["PowerState"].as_str() == Some(want) {
            return Ok(());
        }
        let action = &doc["Actions"]["#ComputerSystem.Reset"];
        let target = action["target"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("{system}/Actions/ComputerSystem.Reset"));
        let allowed: Vec<&str> = action["ResetType@Redfish.AllowableValues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // Some BMCs only offer "Off"/"ForceOn"; take the closest allowed kind.
        let reset = if allowed.is_empty() || allowed.contains(&reset) {
            reset.to_string()
        } else {
            let alternatives: &[&str] = if want == "Off" {
                &["ForceOff", "Off", "PowerOff"]
            } else {
                &["On", "ForceOn", "PowerOn"]
            };
            alternatives
                .iter()
                .find(|a| allowed.contains(a))
                .map_or(reset.to_string(), |a| (*a).to_string())
        };
        self.post(&target, &json!({ "ResetType": reset })).await?;
        let started = Instant::now();
        loop {
            let state = self.power_state(system).await?;
            if state == want {
                return Ok(());
            }
            if started.elapsed() >= wait {
                return Err(RfError::NotReached {
                    state,
                    waited: started.elapsed().as_millis(),
                    reset,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

async fn act(
    params: &Params,
    action: FenceAction,
    plug: Option<&str>,
    timeout: Duration,
) -> Result<(i32, String), RfError> {
    let bmc = Bmc::new(params, timeout)?;
    let wait = params
        .get("power_timeout")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(20), Duration::from_secs);
    match action {
        FenceAction::Metadata => Ok((OcfRc::SUCCESS, metadata())),
        FenceAction::ValidateAll => Ok((OcfRc::SUCCESS, String::new())),
        FenceAction::Monitor => bmc.get("/redfish/v1/Systems").await.map(|_| (OcfRc::SUCCESS, String::new())),
        FenceAction::List | FenceAction::ListStatus => {
            let all = bmc.systems().await?;
            let lines: Vec<String> = all.iter().map(|(id, name, _)| format!("{id},{name}")).collect();
            Ok((OcfRc::SUCCESS, lines.join("\n")))
        }
        FenceAction::Status => {
            let system = bmc.system_uri(params, plug).await?;
            let state = bmc.power_state(&system).await?;
            let rc = if state == "Off" { OcfRc::NOT_RUNNING } else { OcfRc::SUCCESS };
            Ok((rc, format!("Status: {}", state.to_uppercase())))
        }
        FenceAction::Off => {
            let system = bmc.system_uri(params, plug).await?;
            bmc.reset_and_verify(&system, "ForceOff", "Off", wait).await?;
            Ok((OcfRc::SUCCESS, "Success: Powered OFF".into()))
        }
        FenceAction::On => {
            let system = bmc.system_uri(params, plug).await?;
            bmc.reset_and_verify(&system, "On", "On", wait).await?;
            Ok((OcfRc::SUCCESS, "Success: Powered ON".into()))
        }
        FenceAction::Reboot => {
            let system = bmc.system_uri(params, plug).await?;
            bmc.reset_and_verify(&system, "ForceOff", "Off", wait).await?;
            // The node is fenced once it is off; power coming back is best effort.
            if let Err(e) = bmc.reset_and_verify(&system, "On", "On", wait).await {
                tracing::warn!(error = %e, "rebooted node did not power on again");
                return Ok((OcfRc::SUCCESS, format!("Success: Powered OFF (power on: {e})")));
            }
            Ok((OcfRc::SUCCESS, "Success: Rebooted".into()))
        }
    }
}

fn metadata() -> String {
    r#"<?xml version="1.0" ?>
<resource-agent name="redfish" shortdesc="Native Redfish fencing (pacer): ComputerSystem.Reset with power-state verification">
<parameters>
<parameter name="ip" required="1"><content type="string"/><shortdesc lang="en">BMC address (host or host:port)</shortdesc></parameter>
<parameter name="ipport"><content type="integer" default="443"/><shortdesc lang="en">BMC port</shortdesc></parameter>
<parameter name="username"><content type="string"/><shortdesc lang="en">Login name</shortdesc></parameter>
<parameter name="password"><content type="string"/><shortdesc lang="en">Login password (reference a Secret)</shortdesc></parameter>
<parameter name="systems_uri"><content type="string"/><shortdesc lang="en">Redfish system URI (discovered when unset)</shortdesc></parameter>
<parameter name="ssl_insecure"><content type="boolean" default="0"/><shortdesc lang="en">Accept a self-signed certificate</shortdesc></parameter>
<parameter name="power_timeout"><content type="integer" default="20"/><shortdesc lang="en">Seconds to wait for the new power state</shortdesc></parameter>
</parameters>
<actions><action name="on"/><action name="off"/><action name="reboot"/><action name="status"/><action name="list"/><action name="monitor"/><action name="metadata"/><action name="validate-all"/></actions>
</resource-agent>
"#
    .to_string()
}

/// Runs a fence action against a Redfish BMC within `timeout`.
pub async fn run(params: &Params, action: FenceAction, plug: Option<&str>, timeout: Duration) -> ActionResult {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, act(params, action, plug, timeout)).await;
    let mut result = match outcome {
        Ok(Ok((rc, output))) => {
            let mut r = ActionResult::ok();
            r.rc = rc;
            r.output = output;
            r
        }
        Ok(Err(RfError::Config(why))) => {
            ActionResult::synthetic(OcfRc::NOT_CONFIGURED, OpStatus::ErrorHard, why)
        }
        Ok(Err(e)) => ActionResult::synthetic(OcfRc::GENERIC_ERROR, OpStatus::Error, e.to_string()),
        Err(_) => ActionResult::synthetic(
            OcfRc::GENERIC_ERROR,
            OpStatus::Timeout,
            format!("{} did not finish within {} ms", action.as_str(), timeout.as_millis()),
        ),
    };
    result.exec_time = started.elapsed();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_schemes() {
        let b = |p: Params| Bmc::new(&p, Duration::from_secs(1)).map(|b| b.base).unwrap_or_default();
        assert_eq!(b(Params::new().with("ip", "10.0.0.9")), "https://10.0.0.9:443");
        assert_eq!(b(Params::new().with("ip", "10.0.0.9").with("ipport", "8443")), "https://10.0.0.9:8443");
        assert_eq!(b(Params::new().with("ip", "bmc:9000").with("ssl", "0")), "http://bmc:9000");
        assert_eq!(b(Params::new().with("ipaddr", "fd00::1")), "https://[fd00::1]:443");
        assert!(Bmc::new(&Params::new(), Duration::from_secs(1)).is_err());
    }
}
