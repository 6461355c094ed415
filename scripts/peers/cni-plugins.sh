#!/usr/bin/env bash
# Builds the CNI plugins the test node's network config uses (bridge, host-local, loopback,
# portmap) from the Go module proxy (no replace directives).
# Result: $PEERS_DIR/cni-plugins-<version>/bin/, containerd's CNI bin dir.
. "$(dirname "$0")/lib.sh"
V=$CNI_PLUGINS_VERSION
DIR="$PEERS_DIR/cni-plugins-$V"
if peer_ready "$DIR"; then log "cni-plugins $V: cached at $DIR"; exit 0; fi
command -v go >/dev/null || { log "go is required to build the CNI plugins"; exit 1; }
start_stage "cni-plugins-$V"
M=github.com/containernetworking/plugins
log "cni-plugins $V: go install bridge, host-local, loopback, portmap (cold: about 1 min)"
# The version ldflag makes each plugin report "CNI <name> plugin v<version>", not "version unknown".
with_ticker env GOBIN="$STAGE/bin" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X $M/pkg/utils/buildversion.BuildVersion=v$V" \
  "$M/plugins/main/bridge@v$V" "$M/plugins/ipam/host-local@v$V" \
  "$M/plugins/main/loopback@v$V" "$M/plugins/meta/portmap@v$V"
for p in bridge host-local loopback portmap; do
  [ -x "$STAGE/bin/$p" ] || { log "cni-plugins $V: $p was not built"; exit 1; }
done
finish "$DIR" "$STAGE"
log "cni-plugins $V: ready in $DIR/bin"
