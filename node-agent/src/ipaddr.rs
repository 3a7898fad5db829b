//! Native `pacer:IPaddr2`: an [`ActionRequest`] with IPaddr2's parameters (`ip`,
//! `cidr_netmask`, `nic`, `broadcast`, `iflabel`, `arp_count`, `arp_interval`,
//! `arp_bg`) in; an IPv4 address added, removed or checked over netlink, gratuitous
//! ARPs sent from a raw packet socket, and an OCF-style [`ActionResult`] out.
//!
//! Why native: forking the shell agent costs a bash, `ip`, `findif.sh` and `send_arp`
//! for every monitor of every VIP; netlink answers in microseconds. Semantics follow
//! the shell agent where they matter: start is idempotent, stop succeeds when the
//! address is already gone, monitor answers 0 (present on an up link), 1 (present but
//! link down) or 7 (absent). Without `nic` the interface is the one holding an address
//! of the VIP's subnet; without `cidr_netmask` the prefix is that address's prefix.
//! IPv6 is left to `ocf:heartbeat:IPaddr2`.
//!
//! `unsafe` is confined to the single `sendto(2)` on the packet socket.

use futures::TryStreamExt;
use rtnetlink::{
    Handle,
    packet_route::{
        address::{AddressAttribute, AddressMessage},
        link::{LinkAttribute, LinkFlags},
    },
};
use std::{
    net::{IpAddr, Ipv4Addr},
    os::fd::{AsRawFd, OwnedFd},
    time::Duration,
};

use crate::op::{ActionRequest, ActionResult, OcfRc, OpStatus};

const ETH_P_ARP: u16 = 0x0806;

const META_DATA: &str = r#"<?xml version="1.0"?>
<resource-agent name="IPaddr2" version="1.0">
<version>1.1</version>
<shortdesc lang="en">Manages a virtual IPv4 address (native, netlink)</shortdesc>
<parameters>
<parameter name="ip" unique="1" required="1"><shortdesc lang="en">IPv4 address</shortdesc><content type="string"/></parameter>
<parameter name="cidr_netmask"><shortdesc lang="en">Prefix length or dotted netmask</shortdesc><content type="string"/></parameter>
<parameter name="nic"><shortdesc lang="en">Interface</shortdesc><content type="string"/></parameter>
<parameter name="broadcast"><shortdesc lang="en">Broadcast address</shortdesc><content type="string"/></parameter>
<parameter name="iflabel"><shortdesc lang="en">Interface label</shortdesc><content type="string"/></parameter>
<parameter name="arp_count"><shortdesc lang="en">Gratuitous ARPs to send</shortdesc><content type="integer" default="5"/></parameter>
<parameter name="arp_interval"><shortdesc lang="en">Milliseconds between ARPs</shortdesc><content type="integer" default="200"/></parameter>
<parameter name="arp_bg"><shortdesc lang="en">Send ARPs after start returns</shortdesc><content type="boolean" default="true"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="20s"/>
</actions>
</resource-agent>
"#;

/// Meta-data of a native agent type, if it exists.
pub fn meta_data(kind: &str) -> Option<String> {
    (kind == "IPaddr2").then(|| META_DATA.to_string())
}

/// Parsed and checked parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipConfig {
    pub ip: Ipv4Addr,
    pub prefix: Option<u8>,
    pub nic: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub label: Option<String>,
    pub arp_count: u32,
    pub arp_interval: Duration,
    pub arp_bg: bool,
}

fn not_configured(resource: &str, why: String) -> ActionResult {
    ActionResult::synthetic(
        OcfRc::NOT_CONFIGURED,
        OpStatus::Done,
        crate::ocf::bound(
            &format!("resource '{resource}': {why}"),
            crate::ocf::EXIT_REASON_MAX,
        ),
    )
}

/// Reads IPaddr2's parameters; a bad one is an `OCF_ERR_CONFIGURED` result naming it.
pub fn parse_params(req: &ActionRequest) -> Result<VipConfig, ActionResult> {
    let rsc = req.resource.as_str();
    let p = &req.params;
    let ip_text = p
        .get("ip")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| not_configured(rsc, "required parameter 'ip' is not set".into()))?;
    let ip = match ip_text.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4,
        Ok(IpAddr::V6(_)) => {
            return Err(not_configured(
                rsc,
                format!(
                    "ip '{ip_text}' is IPv6; pacer:IPaddr2 handles IPv4, use ocf:heartbeat:IPaddr2"
                ),
            ));
        }
        Err(_) => {
            return Err(not_configured(
                rsc,
                format!("ip '{ip_text}' is not an IPv4 address"),
            ));
        }
    };
    let prefix = match p.get("cidr_netmask").filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(parse_prefix(text).ok_or_else(|| {
            not_configured(
                rsc,
                format!(
                    "cidr_netmask '{text}' is neither a prefix length 0-32 nor a dotted netmask"
                ),
            )
        })?),
    };
    let broadcast = match p.get("broadcast").filter(|s| !s.is_empty() && *s != "auto") {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            not_configured(rsc, format!("broadcast '{text}' is not an IPv4 address"))
        })?),
    };
    let number = |name: &str, default: u64| -> Result<u64, ActionResult> {
        match p.get(name).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(t) => t.parse().map_err(|_| {
                not_configured(rsc, format!("{name} '{t}' is not a non-negative integer"))
            }),
        }
    };
    let arp_count = u32::try_from(number("arp_count", 5)?.min(1000)).unwrap_or(5);
    let arp_interval = Duration::from_millis(number("arp_interval", 200)?.min(60_000));
    let arp_bg = !matches!(p.get("arp_bg"), Some("false" | "no" | "0" | "off"));
    Ok(VipConfig {
        ip,
        prefix,
        nic: p.get("nic").filter(|s| !s.is_empty()).map(String::from),
        broadcast,
        label: p.get("iflabel").filter(|s| !s.is_empty()).map(String::from),
        arp_count,
        arp_interval,
        arp_bg,
    })
}

fn parse_prefix(text: &str) -> Option<u8> {
    if let Ok(n) = text.parse::<u8>() {
        return (n <= 32).then_some(n);
    }
    let mask = u32::from(text.parse::<Ipv4Addr>().ok()?);
    let ones = mask.leading_ones();
    // A netmask is contiguous ones then zeros.
    (mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

fn in_subnet(addr: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(addr) & mask == u32::from(net) & mask
}

#[derive(Clone, Debug)]
struct Link {
    index: u32,
    name: String,
    mac: Option<[u8; 6]>,
    up: bool,
}

#[derive(Clone, Debug)]
struct Addr {
    index: u32,
    ip: Ipv4Addr,
    prefix: u8,
    message: AddressMessage,
}

async fn links(handle: &Handle) -> Result<Vec<Link>, rtnetlink::Error> {
    let mut out = Vec::new();
    let mut stream = handle.link().get().execute();
    while let Some(msg) = stream.try_next().await? {
        let mut name = None;
        let mut mac = None;
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::Address(bytes) if bytes.len() == 6 => {
                    let mut m = [0u8; 6];
                    m.copy_from_slice(bytes);
                    mac = Some(m);
                }
                _ => {}
            }
        }
        out.push(Link {
            index: msg.header.index,
            name: name.unwrap_or_default(),
            mac,
            up: msg.header.flags.contains(LinkFlags::Up)
                && msg.header.flags.contains(LinkFlags::LowerUp),
        });
    }
    Ok(out)
}

async fn ipv4_addrs(handle: &Handle) -> Result<Vec<Addr>, rtnetlink::Error> {
    let mut out = Vec::new();
    let mut stream = handle.address().get().execute();
    while let Some(msg) = stream.try_next().await? {
        let local = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(IpAddr::V4(ip)) => Some(*ip),
            _ => None,
        });
        let any = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(IpAddr::V4(ip)) => Some(*ip),
            _ => None,
        });
        if let Some(ip) = local.or(any) {
            out.push(Addr {
                index: msg.header.index,
                ip,
                prefix: msg.header.prefix_len,
                message: msg,
            });
        }
    }
    Ok(out)
}

/// Gratuitous ARPs still to send after the operation returned (`arp_bg`).
pub struct ArpJob {
    socket: OwnedFd,
    ifindex: i32,
    frames: [Vec<u8>; 2],
    remaining: u32,
    interval: Duration,
}

impl ArpJob {
    /// Sends the remaining announcements at their interval.
    pub async fn finish(mut self) {
        while self.remaining > 0 {
            tokio::time::sleep(self.interval).await;
            self.send_round();
        }
    }

    fn send_round(&mut self) {
        for frame in &self.frames {
            if let Err(e) = send_frame(&self.socket, self.ifindex, frame) {
                tracing::warn!(error = %e, "gratuitous ARP not sent");
            }
        }
        self.remaining = self.remaining.saturating_sub(1);
    }
}

/// An ARP request and an ARP reply both announcing `ip` at `mac` (peers differ in
/// which one updates their neighbour table, so send both).
fn garp_frames(mac: [u8; 6], ip: Ipv4Addr) -> [Vec<u8>; 2] {
    let frame = |op: u8, target_mac: [u8; 6]| {
        let mut f = Vec::with_capacity(42);
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, op]);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&ip.octets());
        f.extend_from_slice(&target_mac);
        f.extend_from_slice(&ip.octets());
        f
    };
    [frame(1, [0; 6]), frame(2, [0xff; 6])]
}

fn packet_socket() -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    // Protocol 0: the socket only sends, it never receives frames.
    socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(std::io::Error::from)
}

fn send_frame(socket: &OwnedFd, ifindex: i32, frame: &[u8]) -> std::io::Result<()> {
    let mut dest = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: ETH_P_ARP.to_be(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: [0; 8],
    };
    dest.sll_addr[..6].copy_from_slice(&[0xff; 6]);
    // SAFETY: `frame` is a live slice whose pointer and length are passed together;
    // `dest` is a fully initialised sockaddr_ll on our stack and its exact size is
    // passed as the address length; the fd is owned and open for the whole call.
    let sent = unsafe {
        libc::sendto(
            socket.as_raw_fd(),
            frame.as_ptr().cast::<libc::c_void>(),
            frame.len(),
            0,
            (&dest as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn generic(reason: String) -> ActionResult {
    ActionResult::synthetic(
        OcfRc::GENERIC_ERROR,
        OpStatus::Done,
        crate::ocf::bound(&reason, crate::ocf::EXIT_REASON_MAX),
    )
}

/// Runs `req` in the current network namespace. Returns the result and, after a
/// successful start with `arp_bg`, the announcements still to send.
pub async fn run(req: &ActionRequest) -> (ActionResult, Option<ArpJob>) {
    match req.action.as_str() {
        "meta-data" => {
            return (
                ActionResult {
                    output: META_DATA.to_string(),
                    ..ActionResult::ok()
                },
                None,
            );
        }
        "start" | "stop" | "monitor" | "status" | "validate-all" => {}
        other => {
            return (
                ActionResult::synthetic(
                    OcfRc::UNIMPLEMENTED,
                    OpStatus::NotSupported,
                    format!("pacer:IPaddr2 does not implement '{other}'"),
                ),
                None,
            );
        }
    }
    let cfg = match parse_params(req) {
        Ok(c) => c,
        Err(result) => {
            // Stopping or probing something never configured is not an error.
            return match req.action.as_str() {
                "stop" => (ActionResult::ok(), None),
                _ => (result, None),
            };
        }
    };
    if req.action == "validate-all" {
        return (ActionResult::ok(), None);
    }
    let (conn, handle, _) = match rtnetlink::new_connection() {
        Ok(c) => c,
        Err(e) => return (generic(format!("cannot open netlink socket: {e}")), None),
    };
    let conn_task = tokio::spawn(conn);
    let outcome = match req.action.as_str() {
        "start" => start(&handle, &req.resource, &cfg).await,
        "stop" => stop(&handle, &cfg).await.map(|r| (r, None)),
        _ => monitor(&handle, &cfg).await.map(|r| (r, None)),
    };
    conn_task.abort();
    match outcome {
        Ok(done) => done,
        Err(e) => (generic(format!("netlink: {e}")), None),
    }
}

async fn start(
    handle: &Handle,
    resource: &str,
    cfg: &VipConfig,
) -> Result<(ActionResult, Option<ArpJob>), rtnetlink::Error> {
    let links = links(handle).await?;
    let addrs = ipv4_addrs(handle).await?;
    let (link, prefix) = match &cfg.nic {
        Some(nic) => {
            let Some(link) = links.iter().find(|l| &l.name == nic) else {
                return Ok((
                    not_configured(resource, format!("nic '{nic}' does not exist on this node")),
                    None,
                ));
            };
            let derived = addrs
                .iter()
                .filter(|a| a.index == link.index && a.ip != cfg.ip)
                .find(|a| in_subnet(cfg.ip, a.ip, a.prefix))
                .map(|a| a.prefix);
            (link, cfg.prefix.or(derived).unwrap_or(32))
        }
        None => {
            let found = addrs
                .iter()
                .filter(|a| a.ip != cfg.ip && a.prefix > 0)
                .filter(|a| in_subnet(cfg.ip, a.ip, cfg.prefix.unwrap_or(a.prefix)))
                .find_map(|a| {
                    links
                        .iter()
                        .find(|l| l.index == a.index)
                        .map(|l| (l, a.prefix))
                });
            match found {
                Some((link, p)) => (link, cfg.prefix.unwrap_or(p)),
                None => {
                    return Ok((
                        not_configured(
                            resource,
                            format!(
                                "no interface has an address in the subnet of {}; set nic",
                                cfg.ip
                            ),
                        ),
                        None,
                    ));
                }
            }
        }
    };
    if !addrs
        .iter()
        .any(|a| a.index == link.index && a.ip == cfg.ip)
    {
        let mut add = handle.address().add(link.index, IpAddr::V4(cfg.ip), prefix);
        if let Some(brd) = cfg.broadcast {
            let attrs = &mut add.message_mut().attributes;
            attrs.retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
            attrs.push(AddressAttribute::Broadcast(brd));
        }
        if let Some(label) = &cfg.label {
            add.message_mut()
                .attributes
                .push(AddressAttribute::Label(format!("{}:{label}", link.name)));
        }
        add.execute().await?;
    }
    let Some(mac) = link.mac else {
        // No link-layer address (loopback, tun): nothing to announce.
        return Ok((ActionResult::ok(), None));
    };
    if cfg.arp_count == 0 {
        return Ok((ActionResult::ok(), None));
    }
    let socket = match packet_socket() {
        Ok(s) => s,
        Err(e) => {
            return Ok((
                ActionResult {
                    exit_reason: Some(format!("address added, but ARP socket failed: {e}")),
                    ..ActionResult::ok()
                },
                None,
            ));
        }
    };
    let mut job = ArpJob {
        socket,
        ifindex: i32::try_from(link.index).unwrap_or(0),
        frames: garp_frames(mac, cfg.ip),
        remaining: cfg.arp_count,
        interval: cfg.arp_interval,
    };
    job.send_round();
    if cfg.arp_bg {
        Ok((ActionResult::ok(), Some(job)))
    } else {
        job.finish().await;
        Ok((ActionResult::ok(), None))
    }
}

async fn stop(handle: &Handle, cfg: &VipConfig) -> Result<ActionResult, rtnetlink::Error> {
    let links = links(handle).await?;
    let wanted_index = cfg
        .nic
        .as_ref()
        .and_then(|nic| links.iter().find(|l| &l.name == nic).map(|l| l.index));
    for addr in ipv4_addrs(handle).await? {
        if addr.ip == cfg.ip && wanted_index.is_none_or(|i| i == addr.index) {
            handle.address().del(addr.message).execute().await?;
        }
    }
    Ok(ActionResult::ok())
}

async fn monitor(handle: &Handle, cfg: &VipConfig) -> Result<ActionResult, rtnetlink::Error> {
    let links = links(handle).await?;
    let held: Vec<Addr> = ipv4_addrs(handle)
        .await?
        .into_iter()
        .filter(|a| a.ip == cfg.ip)
        .collect();
    let on_link = held.iter().find_map(|a| {
        links
            .iter()
            .find(|l| l.index == a.index)
            .filter(|l| cfg.nic.as_ref().is_none_or(|n| &l.name == n))
    });
    Ok(match on_link {
        None => ActionResult::synthetic(
            OcfRc::NOT_RUNNING,
            OpStatus::Done,
            format!("{} is not configured on this node", cfg.ip),
        ),
        Some(link) if !link.up => generic(format!(
            "{} is on {}, but that link is down",
            cfg.ip, link.name
        )),
        Some(_) => ActionResult::ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::Agent;

    fn req(params: &[(&str, &str)]) -> ActionRequest {
        let mut r = ActionRequest::new(
            "vip",
            Agent::Pacer {
                kind: "IPaddr2".into(),
            },
            "start",
        );
        for (k, v) in params {
            r = r.param(k, v);
        }
        r
    }

    #[test]
    fn params_are_checked_with_names() {
        let missing = parse_params(&req(&[])).err().and_then(|r| r.exit_reason);
        assert!(missing.is_some_and(|m| m.contains("'ip'")));
        let bad_mask = parse_params(&req(&[("ip", "10.0.0.5"), ("cidr_netmask", "255.0.255.0")]))
            .err()
            .and_then(|r| r.exit_reason);
        assert!(bad_mask.is_some_and(|m| m.contains("cidr_netmask")));
        let v6 = parse_params(&req(&[("ip", "fd00::1")])).err().map(|r| r.rc);
        assert_eq!(v6, Some(OcfRc::NOT_CONFIGURED));
        let ok = parse_params(&req(&[
            ("ip", "10.0.0.5"),
            ("cidr_netmask", "255.255.255.0"),
        ]));
        assert_eq!(ok.map(|c| c.prefix), Ok(Some(24)));
    }

    #[test]
    fn subnet_and_prefix_math() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED);
        assert!(in_subnet(ip("10.213.0.100"), ip("10.213.0.1"), 24));
        assert!(!in_subnet(ip("10.213.1.100"), ip("10.213.0.1"), 24));
        assert!(in_subnet(ip("1.2.3.4"), ip("9.9.9.9"), 0));
        assert_eq!(parse_prefix("32"), Some(32));
        assert_eq!(parse_prefix("33"), None);
        assert_eq!(parse_prefix("255.255.254.0"), Some(23));
    }

    #[test]
    fn garp_frame_layout() {
        let mac = [2, 0, 0, 0, 0, 1];
        let [request, reply] = garp_frames(mac, Ipv4Addr::new(10, 213, 0, 100));
        assert_eq!(request.len(), 42);
        assert_eq!(&request[12..14], &[0x08, 0x06]);
        assert_eq!(request[21], 1);
        assert_eq!(reply[21], 2);
        assert_eq!(&request[28..32], &[10, 213, 0, 100]);
        assert_eq!(&request[38..42], &[10, 213, 0, 100]);
        assert_eq!(&request[22..28], &mac);
    }
}
