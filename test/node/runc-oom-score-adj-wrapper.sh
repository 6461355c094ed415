#!/usr/bin/env bash
# TEST-NODE ADAPTATION to machines that refuse to lower /proc/self/oom_score_adj (no
# CAP_SYS_RESOURCE, as in this project's sandboxes). The kubelet puts oomScoreAdj (-998 for a pod
# sandbox) into every container's OCI spec and runc fails with "failed to update
# /proc/self/oom_score_adj: Permission denied". Installed as `runc`, first on containerd's PATH,
# only when the harness finds the write refused; it deletes process.oomScoreAdj from the bundle's
# config.json and then runs the real runc ($REAL_RUNC) with the same arguments. Nothing else in
# the spec or the call changes.
set -euo pipefail
bundle=""
prev=""
for a in "$@"; do
  case "$prev" in --bundle | -b) bundle=$a ;; esac
  case "$a" in --bundle=*) bundle=${a#--bundle=} ;; esac
  prev=$a
done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
  python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
with open(p) as f:
    spec = json.load(f)
if spec.get("process", {}).pop("oomScoreAdj", None) is not None:
    with open(p, "w") as f:
        json.dump(spec, f)
PY
fi
exec "$REAL_RUNC" "$@"
