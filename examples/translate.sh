#!/bin/sh
# Translate a scenario's crm configuration (DIR/seed.crm) into pacer manifests, 1:1:
# crmsh turns the crm commands into CIB XML offline, `pacer import-cib` turns that into
# manifests. The "# nodes: a b c" line of seed.crm names the cluster nodes.
#   examples/translate.sh examples/s3-vip > examples/s3-vip/manifests.yaml
# Prints the CIB XML instead with XML=1. Needs crmsh (crm) and a built pacer.
set -eu
dir=$1
here=$(cd "$(dirname "$0")/.." && pwd)
pacer=${PACER:-$here/target/debug/pacer}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nodes=$(sed -n 's/^# nodes: //p' "$dir/seed.crm")
{
  echo '<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0">'
  echo '<configuration><crm_config/><nodes>'
  for n in $nodes; do echo "<node id=\"$n\" uname=\"$n\"/>"; done
  echo '</nodes><resources/><constraints/></configuration><status/></cib>'
} > "$tmp/empty.xml"
{ echo configure; grep -v '^#' "$dir/seed.crm"; echo 'show xml'; } > "$tmp/script.crm"
CIB_file="$tmp/empty.xml" crm -f "$tmp/script.crm" 2>"$tmp/crm.err" | sed -n '/^<?xml/,/^<\/cib>/p' | sed 1d > "$tmp/cib.xml" || true
if [ ! -s "$tmp/cib.xml" ]; then cat "$tmp/crm.err" >&2; exit 1; fi
if [ "${XML:-}" = 1 ]; then cat "$tmp/cib.xml"; exit 0; fi
"$pacer" import-cib "$tmp/cib.xml" | python3 -c '
import sys
docs = sys.stdin.read().split("---\n")
out = []
for d in docs:
    if not d.strip():
        continue
    if "kind: ClusterProperties" in d:
        # The CIB document attributes of the scratch CIB say nothing about the scenario.
        lines, skip = [], False
        for l in d.splitlines(keepends=True):
            if l.startswith("  cib:"):
                skip = True
                continue
            if skip and l.startswith("    "):
                continue
            skip = False
            lines.append(l)
        d = "".join(lines)
        if d.rstrip().endswith("spec:"):
            continue
    out.append(d)
sys.stdout.write("".join("---\n" + d for d in out))
'
