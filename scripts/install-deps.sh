#!/usr/bin/env bash
# Installs everything pacer's build, tests and demo need on a fresh Debian machine.
# Idempotent: packages already present are not reinstalled.
set -euo pipefail

APT_PACKAGES=(
  pacemaker-cli-utils   # crm_simulate / crm_verify 2.1.5: the scheduler oracle
  pacemaker-doc         # Pacemaker Explained (semantics reference)
  resource-agents       # real OCF agents: Dummy, IPaddr2, ...
  fence-agents          # fence_ipmilan, fence_redfish, ...
  openipmi ipmitool     # ipmi_sim BMC simulator for fencing tests
  crmsh                 # crm shell, oracle for `pacer import-crm`
  iproute2 iputils-ping arping  # network-namespace hosts
  python3 python3-venv  # python3-venv: the sushy-tools venv below
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# sushy-tools (PyPI): Redfish BMC emulator for the Redfish fencing tests, in a venv of its
# own under ~/.cache (tests find it there, or via PACER_SUSHY_EMULATOR).
SUSHY_VENV="${PACER_SUSHY_VENV:-$HOME/.cache/pacer/sushy-venv}"
if [ ! -x "$SUSHY_VENV/bin/sushy-emulator" ]; then
  echo "install-deps: sushy-tools into $SUSHY_VENV"
  python3 -m venv "$SUSHY_VENV"
  "$SUSHY_VENV/bin/pip" install -q "sushy-tools==2.2.0"
fi

for tool in cargo go python3; do
  command -v "$tool" >/dev/null || { echo "install-deps: '$tool' is required (Rust via rustup, Go >= 1.26)" >&2; exit 1; }
done
echo "install-deps: ok ($(cargo --version), $(go version | cut -d' ' -f3), crm_simulate $(crm_simulate --version | head -1 | cut -d' ' -f2))"
