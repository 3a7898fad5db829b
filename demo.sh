#!/usr/bin/env bash
# pacer in one command: a real control plane (etcd + kube-apiserver 1.37), three hosts as
# network namespaces each running pacer-agent, two pacer-operator replicas, the S3 example
# (a VIP with the real IPaddr2 resource agent), then a hard crash of the VIP's host.
#
#   sudo ./demo.sh            # needs root (network namespaces); Ctrl-C stops everything
#
# Heavy lifting (hosts, agents, operators, failover timing) is `pacer-lab` from tests/.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
DEMO=/tmp/pacer-demo
VIP=10.213.0.100

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (network namespaces, IPaddr2)"

# --- clean up a previous (possibly crashed) run -------------------------------------------
cleanup() {
  if [ -n "${LAB_PID:-}" ] && kill -0 "$LAB_PID" 2>/dev/null; then
    kill -TERM "$LAB_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$LAB_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$LAB_PID" 2>/dev/null || true
  fi
}
if [ -f "$DEMO/lab.pid" ]; then
  old=$(cat "$DEMO/lab.pid")
  # Only our own leftover: the pid must still be a pacer-lab.
  if grep -q pacer-lab "/proc/$old/cmdline" 2>/dev/null; then
    echo "stopping a previous demo (pid $old)"; kill -TERM "$old" || true; sleep 2
    kill -KILL -- "-$old" 2>/dev/null || true
  fi
fi
# A previous pacer-lab killed with -9 leaves its agents, operators and control plane
# running: kill their process groups (recorded in lab.env), checking each is still ours.
if [ -f "$DEMO/lab.env" ]; then
  old_groups=$(sed -n "s/^PGIDS='\(.*\)'$/\1/p" "$DEMO/lab.env")
  for g in $old_groups; do
    if grep -qaE 'pacer-(agent|operator|testenv)|ip.netns.exec' "/proc/$g/cmdline" 2>/dev/null; then
      echo "killing leftover process group $g of a previous demo"; kill -KILL -- "-$g" 2>/dev/null || true
    fi
  done
fi
# Namespaces of dead pacer-lab processes (named pcr<pid>x...) are swept by pacer-lab itself.
rm -rf "$DEMO"; mkdir -p "$DEMO"
trap cleanup EXIT
trap 'echo; echo interrupted; exit 130' INT TERM

# --- build ---------------------------------------------------------------------------------
say "building (scripts/install-deps.sh, tests/testenv/build.sh, cargo build --release)"
[ -x scripts/install-deps.sh ] && scripts/install-deps.sh >"$DEMO/install-deps.log" 2>&1 \
  || echo "(install-deps.sh: see $DEMO/install-deps.log)"
tests/testenv/build.sh >"$DEMO/testenv-build.log" 2>&1 || die "tests/testenv/build.sh failed: $DEMO/testenv-build.log"
cargo build --release -q -p pacer-operator -p pacer-agent -p pacer-e2e --bins || die "cargo build failed"
export PACER_AGENT_BIN=$ROOT/target/release/pacer-agent
export PACER_OPERATOR_BIN=$ROOT/target/release/pacer-operator

# --- cluster -------------------------------------------------------------------------------
say "starting the control plane, 3 namespace hosts with pacer-agent, 2 pacer-operator replicas"
t=$(date +%s%N)
setsid target/release/pacer-lab --dir "$DEMO" >"$DEMO/lab.log" 2>&1 &
LAB_PID=$!; echo "$LAB_PID" >"$DEMO/lab.pid"
until [ -f "$DEMO/lab.env" ]; do
  kill -0 "$LAB_PID" 2>/dev/null || { cat "$DEMO/lab.log"; die "pacer-lab exited"; }
  sleep 0.2
done
# shellcheck disable=SC1091
. "$DEMO/lab.env"
echo "up in $(( ($(date +%s%N) - t) / 1000000 )) ms; namespace $NS; logs in $LOGS"
kubectl() { "$KUBECTL_BIN" kubectl --kubeconfig "$KUBECONFIG" -n "$NS" "$@"; }
who_answers() { # the host answering TCP on the VIP, from the client namespace
  ip netns exec "$CLIENT_NETNS" timeout 1 bash -c "exec 3<>/dev/tcp/$VIP/8080 && head -1 <&3" 2>/dev/null || echo "(no answer)"
}

say "applying examples/s3-vip (VIP $VIP on eth0 of this demo's subnet; ClusterNodes are the hosts)"
sed -e "s/192\.168\.101\.121/$VIP/" -e 's/nic: bond0/nic: eth0/' examples/s3-vip/manifests.yaml \
  | awk 'BEGIN{RS="---\n"; ORS="---\n"} !/kind: ClusterNode/' \
  | kubectl apply --server-side --field-manager=demo -f - 
for _ in $(seq 300); do [ "$(who_answers)" != "(no answer)" ] && break; sleep 0.2; done

say "kubectl get pacer -o wide"
kubectl get pacer -o wide || true
say "kubectl get leases (node membership) / nodestates"
kubectl get leases; kubectl get nodestates || true

HOLDER=$(who_answers)
say "the VIP answers from: $HOLDER"
for h in $HOSTS; do ns_var=NETNS_$h; printf '%s: ' "$h"; ip -n "${!ns_var}" -br addr show dev eth0; done
printf 'client neighbour entry: '; ip -n "$CLIENT_NETNS" neigh show "$VIP"

# --- crash the VIP's host ------------------------------------------------------------------
say "crashing $HOLDER: kill -9 its pacer-agent and cut its link"
: >"$DEMO/results"
echo "crash $VIP ip" >"$DEMO/control"
until [ -s "$DEMO/results" ]; do sleep 0.2; done
read -r status rest <"$DEMO/results"
[ "$status" = OK ] || die "failover failed: $rest"
for kv in $rest; do printf '  %-16s %s\n' "${kv%%=*}" "${kv#*=}"; done
echo "  (detection: the DC stored a transition starting ip elsewhere; start: the address is on"
echo "   the new host; arp: the client's neighbour entry has its MAC; tcp: first answer)"

say "after the move"
echo "the VIP answers from: $(who_answers)"
for h in $HOSTS; do ns_var=NETNS_$h; printf '%s: ' "$h"; ip -n "${!ns_var}" -br addr show dev eth0; done
printf 'client neighbour entry: '; ip -n "$CLIENT_NETNS" neigh show "$VIP"
sleep 1
kubectl get pacer -o wide || true
kubectl get transitions 2>/dev/null | tail -n 4 || true

say "done; Ctrl-C (or wait 5 s) to tear everything down"
sleep 5
