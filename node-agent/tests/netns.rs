//! Virtual IPs on network-namespace hosts: three namespaces (h0, h1, client) on a
//! bridge namespace, addresses in 10.213.0.0/24 only inside them. The VIP first runs on
//! h1, the client talks to it, then it moves to h0: the VIP must appear on h0's eth0 and
//! the client's neighbour entry must switch to h0's MAC through the gratuitous ARPs.
//! Once with the real `ocf:heartbeat:IPaddr2`, once with native `pacer:IPaddr2`.

mod common;

use common::Lan;
use pacer_agent::{ActionRequest, Agent, Executor, ExecutorConfig, OpStatus};
use std::time::{Duration, Instant};

const VIP: &str = "10.213.0.100";

fn executor_in(ns: &str) -> std::sync::Arc<Executor> {
    Executor::new(ExecutorConfig {
        netns: Some(ns.to_string()),
        ..ExecutorConfig::default()
    })
    .0
}

async fn move_vip_between_hosts(agent: Agent, with_nic: bool) {
    let lan = Lan::new(if with_nic { "n" } else { "f" }, 3);
    let (h0, h1, client) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let (on_h0, on_h1) = (executor_in(h0), executor_in(h1));
    let req = |action: &str| {
        let mut r = ActionRequest::new("vip", agent.clone(), action)
            .param("ip", VIP)
            .param("arp_count", "5")
            .param("arp_interval", "100");
        if with_nic {
            r = r.param("nic", "eth0").param("cidr_netmask", "24");
        }
        r
    };

    // Probe everywhere: not running.
    for exec in [&on_h0, &on_h1] {
        let probe = exec.execute(&req("monitor")).await;
        assert_eq!(probe.record.rc, 7, "{:?}", probe.record.exit_reason);
    }

    let start = on_h1.execute(&req("start")).await;
    assert_eq!(
        start.record.rc, 0,
        "start on h1: {:?}",
        start.record.exit_reason
    );
    assert!(
        lan.addrs(h1).contains(&format!("{VIP}/24")),
        "{:?}",
        lan.addrs(h1)
    );
    assert!(lan.ping(client, VIP), "client reaches the VIP on h1");
    let h1_mac = lan.mac(h1);
    assert_eq!(lan.neighbour(client, VIP), Some(h1_mac.clone()));

    // Failover: stop on h1, start on h0.
    let stop = on_h1.execute(&req("stop")).await;
    assert_eq!(stop.record.rc, 0);
    assert!(!lan.addrs(h1).iter().any(|a| a.starts_with(VIP)));
    assert_eq!(on_h1.execute(&req("monitor")).await.record.rc, 7);
    let moved = Instant::now();
    let start = on_h0.execute(&req("start")).await;
    assert_eq!(
        start.record.rc, 0,
        "start on h0: {:?}",
        start.record.exit_reason
    );
    assert!(
        lan.addrs(h0).contains(&format!("{VIP}/24")),
        "{:?}",
        lan.addrs(h0)
    );
    assert_eq!(on_h0.execute(&req("monitor")).await.record.rc, 0);

    // Without any traffic from the client, its entry must follow the gratuitous ARP.
    let h0_mac = lan.mac(h0);
    let mut seen = lan.neighbour(client, VIP);
    while seen.as_deref() != Some(h0_mac.as_str()) && moved.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = lan.neighbour(client, VIP);
    }
    assert_eq!(
        seen,
        Some(h0_mac),
        "client still maps {VIP} to {h1_mac} after GARP"
    );
    eprintln!(
        "{}: neighbour moved {:?} after start (start took {} ms)",
        agent,
        moved.elapsed(),
        start.record.exec_time_ms
    );
    assert!(lan.ping(client, VIP));

    // Idempotent start, then stop twice.
    assert_eq!(on_h0.execute(&req("start")).await.record.rc, 0);
    assert_eq!(
        lan.addrs(h0).iter().filter(|a| a.starts_with(VIP)).count(),
        1
    );
    assert_eq!(on_h0.execute(&req("stop")).await.record.rc, 0);
    assert_eq!(on_h0.execute(&req("stop")).await.record.rc, 0);
    assert_eq!(on_h0.execute(&req("monitor")).await.record.rc, 7);
}

#[tokio::test]
async fn heartbeat_ipaddr2_moves_between_namespace_hosts() {
    let agent = Agent::parse("ocf", Some("heartbeat"), "IPaddr2").expect("agent");
    move_vip_between_hosts(agent, true).await;
}

#[tokio::test]
async fn native_ipaddr2_moves_between_namespace_hosts() {
    let agent = Agent::parse("pacer", None, "IPaddr2").expect("agent");
    move_vip_between_hosts(agent, true).await;
}

#[tokio::test]
async fn native_ipaddr2_finds_interface_and_prefix_by_subnet() {
    let agent = Agent::parse("pacer", None, "IPaddr2").expect("agent");
    move_vip_between_hosts(agent, false).await;
}

#[tokio::test]
async fn native_ipaddr2_monitor_reports_down_link_and_bad_params() {
    let lan = Lan::new("d", 1);
    let h0 = &lan.hosts[0];
    let exec = executor_in(h0);
    let agent = Agent::parse("pacer", None, "IPaddr2").expect("agent");
    let req = |action: &str| {
        ActionRequest::new("vip", agent.clone(), action)
            .param("ip", VIP)
            .param("nic", "eth0")
            .param("arp_count", "0")
    };
    assert_eq!(exec.execute(&req("start")).await.record.rc, 0);
    common::sh(&["ip", "-n", h0, "link", "set", "eth0", "down"]);
    let mon = exec.execute(&req("monitor")).await;
    assert_eq!(mon.record.rc, 1, "{:?}", mon.record.exit_reason);
    assert!(mon.failed);

    let wrong_nic = exec
        .execute(
            &ActionRequest::new("vip2", agent.clone(), "start")
                .param("ip", "10.213.0.101")
                .param("nic", "nope0"),
        )
        .await;
    assert_eq!(wrong_nic.record.rc, 6);
    assert!(
        wrong_nic
            .record
            .exit_reason
            .as_deref()
            .is_some_and(|r| r.contains("nic 'nope0'")),
        "{:?}",
        wrong_nic.record.exit_reason
    );
    let missing = exec
        .execute(&ActionRequest::new("vip3", agent.clone(), "start"))
        .await;
    assert_eq!(missing.record.rc, 6);
    assert_eq!(missing.record.status, OpStatus::Error);
}

#[tokio::test]
async fn cli_runs_native_ipaddr2_in_a_namespace() {
    let lan = Lan::new("c", 1);
    let h0 = &lan.hosts[0];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pacer-agent"))
        .args([
            "--netns",
            h0,
            "exec",
            "--class",
            "pacer",
            "--type",
            "IPaddr2",
            "--action",
            "start",
            "--resource",
            "vip",
            "--param",
        ])
        .arg(format!("ip={VIP}"))
        .args(["--param", "cidr_netmask=24", "--param", "arp_count=2"])
        .output()
        .expect("run pacer-agent");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON result");
    assert_eq!(v["rc"], 0);
    assert_eq!(v["operation"], "start");
    assert!(lan.addrs(h0).contains(&format!("{VIP}/24")));
}
