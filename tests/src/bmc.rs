//! Simulated BMCs for the namespace hosts of a [`Hosts`] set: one `ipmi_sim` (openipmi) per
//! host, serving IPMI-over-LAN (lanplus, cipher suite 3) on a management address of its
//! own in the bridge namespace (`<subnet>.211` for the first host, `.212`, ...; UDP 623),
//! so it stays reachable when its host is dead, like a real out-of-band BMC.
//!
//! Power is wired to the host: ipmi_sim's chassis-control script keeps the power state in
//! a file and, on power-off, downs the host's bridge port (its "cable") and SIGKILLs every
//! process in the host's network namespace (its agent and whatever the agent started),
//! appending `off <unix ms>` to the host's power log; power-on only logs `on <ms>` (the
//! harness restarts hosts with [`crate::cluster::Cluster::reboot_host`] when a test wants
//! them back).
//!
//! In: the hosts, a user and password. Out: [`IpmiBmcs`] (addresses, power state, power
//! log); every ipmi_sim is killed on drop.

use std::{
    fs,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};

use crate::hosts::{Hosts, ip};

pub const IPMI_PORT: u16 = 623;

/// One host's BMC.
#[derive(Clone, Debug)]
pub struct Bmc {
    pub node: String,
    /// Management address (in the bridge namespace).
    pub address: String,
    pub port: u16,
    power: PathBuf,
    log: PathBuf,
}

pub struct IpmiBmcs {
    pub bmcs: Vec<Bmc>,
    bridge_ns: String,
    user: String,
    password: String,
    procs: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl Drop for IpmiBmcs {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

/// One ipmi_sim in the bridge namespace, its output appended to `log`.
fn spawn_sim(
    br: &str,
    lan: &std::path::Path,
    emu: &std::path::Path,
    state: &std::path::Path,
    log: &std::path::Path,
) -> Result<Child> {
    let out = fs::OpenOptions::new().create(true).append(true).open(log)?;
    let err = out.try_clone()?;
    Command::new("ip")
        .args(["netns", "exec", br, "/usr/bin/ipmi_sim", "-n", "-c"])
        .arg(lan)
        .arg("-f")
        .arg(emu)
        .arg("-s")
        .arg(state)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .context("starting ipmi_sim")
}

impl IpmiBmcs {
    /// Starts one BMC per host and waits until each answers a power status query.
    pub fn start(hosts: &Hosts, user: &str, password: &str) -> Result<IpmiBmcs> {
        for (tool, pkg) in [
            ("/usr/bin/ipmi_sim", "openipmi"),
            ("/usr/bin/ipmitool", "ipmitool"),
        ] {
            if !std::path::Path::new(tool).exists() {
                bail!("{tool} missing: apt-get install {pkg} (scripts/install-deps.sh)");
            }
        }
        let dir = tempfile::Builder::new().prefix("pacer-bmc-").tempdir()?;
        let mut out = IpmiBmcs {
            bmcs: Vec::new(),
            bridge_ns: hosts.bridge_ns.clone(),
            user: user.to_string(),
            password: password.to_string(),
            procs: Vec::new(),
            _dir: dir,
        };
        let d = out._dir.path().to_path_buf();
        let br = &hosts.bridge_ns;
        // Per BMC: (lan.conf, emu file, state dir, ipmi_sim's output log).
        let mut sims: Vec<(PathBuf, PathBuf, PathBuf, PathBuf)> = Vec::new();
        for (i, h) in hosts.hosts.iter().enumerate() {
            let address = format!("{}.{}", hosts.spec.subnet, 211 + i);
            ip(&[
                "-n",
                br,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                "br0",
            ])?;
            let name = &h.name;
            let power = d.join(format!("power-{name}"));
            let log = d.join(format!("power-{name}.log"));
            fs::write(&power, "1\n")?;
            fs::write(&log, "")?;
            let script = d.join(format!("chassis-{name}"));
            fs::write(
                &script,
                format!(
                    "#!/bin/sh\n\
                     # ipmi_sim chassis control for host {name}: SCRIPT [0x20] get power | set power 0|1\n\
                     [ \"$1\" = 0x20 ] && shift\n\
                     P={power}\n\
                     case \"$1\" in\n\
                     get) echo \"power:$(cat $P)\" ;;\n\
                     set)\n\
                       [ \"$2\" = power ] || exit 0\n\
                       if [ \"$3\" = 0 ] && [ \"$(cat $P)\" != 0 ]; then\n\
                         ip -n {br} link set {port} down\n\
                         ip netns pids {ns} | xargs -r kill -9\n\
                         echo \"off $(date +%s%3N)\" >> {log}\n\
                       elif [ \"$3\" = 1 ] && [ \"$(cat $P)\" != 1 ]; then\n\
                         echo \"on $(date +%s%3N)\" >> {log}\n\
                       fi\n\
                       echo \"$3\" > $P ;;\n\
                     esac\n\
                     exit 0\n",
                    power = power.display(),
                    log = log.display(),
                    ns = h.netns,
                    port = format!("p{}", i + 1),
                ),
            )?;
            fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            let lan = d.join(format!("lan-{name}.conf"));
            fs::write(
                &lan,
                format!(
                    "name \"bmc-{name}\"\nset_working_mc 0x20\n  startlan 1\n    addr {address} {IPMI_PORT}\n\
                     \x20   priv_limit admin\n    allowed_auths_callback none md5 straight\n\
                     \x20   allowed_auths_user none md5 straight\n    allowed_auths_operator none md5 straight\n\
                     \x20   allowed_auths_admin none md5 straight\n    guid a123456789abcdefa123456789abcde{i:x}\n\
                     \x20 endlan\n  chassis_control \"{script}\"\n\
                     user 2 true \"{user}\" \"{password}\" admin 10 md5 straight\n",
                    script = script.display(),
                ),
            )?;
            let emu = d.join("bmc.emu");
            fs::write(
                &emu,
                "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n",
            )?;
            let state = d.join(format!("state-{name}"));
            fs::create_dir_all(&state)?;
            let sim_log = d.join(format!("ipmi_sim-{name}.log"));
            let child = spawn_sim(br, &lan, &emu, &state, &sim_log)?;
            out.procs.push(child);
            out.bmcs.push(Bmc {
                node: name.clone(),
                address,
                port: IPMI_PORT,
                power,
                log,
            });
            sims.push((lan, emu, state, sim_log));
        }
        for (i, b) in out.bmcs.iter().enumerate() {
            let t = Instant::now();
            let mut restarts = 0u32;
            loop {
                let st = Command::new("ip")
                    .args([
                        "netns", "exec", br, "ipmitool", "-I", "lanplus", "-C", "3", "-H",
                    ])
                    .arg(&b.address)
                    .args(["-p", &b.port.to_string(), "-U", user, "-P", password])
                    .args(["chassis", "power", "status"])
                    .output()?;
                if st.status.success() {
                    break;
                }
                // An ipmi_sim that came up without a working LAN channel (seen rarely on a
                // loaded machine, and once more after one fresh start) is started afresh
                // every 6 s.
                if t.elapsed() > Duration::from_secs(6 * (u64::from(restarts) + 1)) {
                    restarts += 1;
                    let (lan, emu, state, sim_log) = &sims[i];
                    let _ = out.procs[i].kill();
                    let _ = out.procs[i].wait();
                    out.procs[i] = spawn_sim(br, lan, emu, state, sim_log)?;
                }
                if t.elapsed() > Duration::from_secs(26) {
                    bail!(
                        "BMC of {} at {}:{} does not answer after {restarts} restart(s): {}\nipmi_sim output:\n{}",
                        b.node,
                        b.address,
                        b.port,
                        String::from_utf8_lossy(&st.stderr),
                        fs::read_to_string(&sims[i].3).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(out)
    }

    pub fn bmc(&self, node: &str) -> Result<&Bmc> {
        self.bmcs
            .iter()
            .find(|b| b.node == node)
            .ok_or_else(|| anyhow!("no BMC for {node}"))
    }

    /// Whether the host is powered on (as its BMC says).
    pub fn powered(&self, node: &str) -> Result<bool> {
        Ok(fs::read_to_string(&self.bmc(node)?.power)?.trim() != "0")
    }

    /// Power events of the host: `(on, unix ms)`.
    pub fn power_log(&self, node: &str) -> Result<Vec<(bool, i64)>> {
        let text = fs::read_to_string(&self.bmc(node)?.log)?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let (what, ms) = l.split_once(' ')?;
                Some((what == "on", ms.trim().parse().ok()?))
            })
            .collect())
    }

    /// When the host was last powered off (unix ms).
    pub fn powered_off_at(&self, node: &str) -> Result<Option<i64>> {
        Ok(self
            .power_log(node)?
            .into_iter()
            .filter(|(on, _)| !on)
            .map(|(_, ms)| ms)
            .max())
    }

    /// Takes the BMC off the management network (its address is removed): fence agents
    /// get no answer, as with a dead BMC or a cut management cable.
    pub fn disconnect(&self, node: &str) -> Result<()> {
        let b = self.bmc(node)?;
        ip(&[
            "-n",
            &self.bridge_ns,
            "addr",
            "del",
            &format!("{}/24", b.address),
            "dev",
            "br0",
        ])?;
        Ok(())
    }

    /// Runs `ipmitool chassis power ACTION` (on, off, status) against the host's BMC from
    /// the management network; returns ipmitool's output.
    pub fn ipmitool(&self, node: &str, action: &str) -> Result<String> {
        let b = self.bmc(node)?;
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.bridge_ns,
                "ipmitool",
                "-I",
                "lanplus",
                "-C",
                "3",
                "-H",
            ])
            .arg(&b.address)
            .args([
                "-p",
                &b.port.to_string(),
                "-U",
                &self.user,
                "-P",
                &self.password,
            ])
            .args(["chassis", "power", action])
            .output()?;
        if !out.status.success() {
            bail!(
                "ipmitool power {action} for {node}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
