#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what is missing, builds the
# test control plane and the workspace, runs every test, then scores the scheduler
# on the shared Pacemaker 2.1.5 cases and fails below the ratchet in ci/floors.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${PACER_SHARED:-$ROOT/../shared}
t0=$SECONDS
step() { printf '\n=== %s (t=%ds)\n' "$*" $((SECONDS - t0)); }

step "dependencies"
bash scripts/install-deps.sh

if [ -x tests/testenv/build.sh ]; then
  step "test control plane (kube-apiserver + etcd from Go modules)"
  tests/testenv/build.sh
fi

step "build (release)"
cargo build --release --workspace --all-targets

step "cargo test"
# The e2e tests run the binaries just built (else each test binary would rebuild them
# with its own feature set: minutes on 2 cores).
export PACER_AGENT_BIN=$ROOT/target/release/pacer-agent
export PACER_OPERATOR_BIN=$ROOT/target/release/pacer-operator
cargo test --release --workspace --no-fail-fast 2>&1 | tee /tmp/pacer-cargo-test.log
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' /tmp/pacer-cargo-test.log | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' /tmp/pacer-cargo-test.log | awk '{s+=$1} END {print s+0}')

step "scheduler conformance (pacer simulate vs crm_simulate's recorded summaries)"
python3 "$SHARED/conformance/run.py" --by-group --json /tmp/pacer-conformance.json \
  -- target/release/pacer simulate --xml {xml} {args} > /tmp/pacer-conformance.txt || true
# run.py's own "N passed, N failed" line is about conformance cases, not tests: rephrase it.
sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/cases matching crm_simulate: \1, differing: \2/' /tmp/pacer-conformance.txt
score=$(sed -nE 's/^conformance: ([0-9]+)\/.*/\1/p' /tmp/pacer-conformance.txt)
floor=$(cat ci/conformance-floor)
if [ "${score:-0}" -lt "$floor" ]; then
  echo "FAIL: scheduler conformance ${score:-0} is below the floor $floor (ci/conformance-floor)" >&2
  exit 1
fi
if [ "$score" -gt "$floor" ]; then
  echo "note: conformance $score is above the floor $floor: raise ci/conformance-floor to $score"
fi

step "done"
echo "tests: $passed passed, $failed failed"
