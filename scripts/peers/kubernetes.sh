#!/usr/bin/env bash
# Builds the control plane (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) and
# the node (kubelet, kube-proxy) from the Go module proxy with a wrapper module that pins every
# staging module (k8s.io/kubernetes has replace directives, so `go install` refuses it).
# Result: $PEERS_DIR/kubernetes-<version>/bin/.
. "$(dirname "$0")/lib.sh"
KV=$KUBERNETES_VERSION
DIR="$PEERS_DIR/kubernetes-$KV"
CMDS="kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy"
# A cache made before the node binaries were added lacks the kubelet: rebuild it then.
if peer_ready "$DIR" && [ -x "$DIR/bin/kubelet" ]; then log "kubernetes $KV: cached at $DIR"; exit 0; fi
command -v go >/dev/null || { log "go is required to build kubernetes"; exit 1; }
MINOR=$(echo "$KV" | cut -d. -f2)
SV="v0.${KV#1.}"
start_stage "kubernetes-$KV"
mkdir "$STAGE/src"
cd "$STAGE/src"
log "kubernetes $KV: resolving upstream go.mod"
UP=$(go_module_field "k8s.io/kubernetes@v$KV" GoMod)
STAGING=$(sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$UP")
PKGS=""; for c in $CMDS; do PKGS="$PKGS k8s.io/kubernetes/cmd/$c"; done
{
  echo "module local/k8sbins"; echo
  grep -E '^(go|godebug) ' "$UP"; echo
  echo "require k8s.io/kubernetes v$KV"; echo
  echo "tool ("; for c in $PKGS; do printf '\t%s\n' "$c"; done; echo ")"; echo
  echo "replace ("; for m in $STAGING; do printf '\t%s => %s %s\n' "$m" "$m" "$SV"; done; echo ")"
} > go.mod
log "kubernetes $KV: downloading modules (go mod tidy)"
with_ticker go mod tidy
log "kubernetes $KV: compiling $CMDS (cold: ~15-25 min on 2 cores)"
with_ticker env CGO_ENABLED=0 go build -trimpath -o "$STAGE/bin/" \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$KV -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR" \
  $PKGS
rm -rf "$STAGE/src"
finish "$DIR" "$STAGE"
log "kubernetes $KV: ready in $DIR/bin"
