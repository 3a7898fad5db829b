#!/bin/sh
# Round-trip one CIB through pacer's manifests and let crm_simulate schedule the result:
#   roundtrip.sh CIB.xml [crm_simulate args...]
# Used with the conformance runner (the summary must equal the original CIB's):
#   python3 /work/shared/conformance/run.py -- operator/tests/roundtrip.sh {xml} {args}
# PACER names the pacer binary (default: target/debug/pacer next to this checkout).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
pacer=${PACER:-$here/target/debug/pacer}
cib=$1
shift
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$pacer" import-cib "$cib" | "$pacer" export-cib - > "$tmp"
crm_simulate -x "$tmp" -S "$@"
