#!/usr/bin/env bash
# Builds containerd, its runc shim (containerd-shim-runc-v2) and ctr from the Go module proxy
# (containerd's go.mod has no replace directives). cgo is on, as upstream builds the daemon.
# Result: $PEERS_DIR/containerd-<version>/bin/.
. "$(dirname "$0")/lib.sh"
V=$CONTAINERD_VERSION
DIR="$PEERS_DIR/containerd-$V"
if peer_ready "$DIR"; then log "containerd $V: cached at $DIR"; exit 0; fi
command -v go >/dev/null || { log "go is required to build containerd"; exit 1; }
command -v gcc >/dev/null || { log "containerd $V: gcc is required (cgo): apt-get install gcc libc6-dev"; exit 1; }
start_stage "containerd-$V"
log "containerd $V: go install containerd, containerd-shim-runc-v2, ctr (cold: about 1-2 min)"
# The version ldflag keeps `containerd --version` honest; go install leaves "<v>+unknown".
M=github.com/containerd/containerd/v2
with_ticker env GOBIN="$STAGE/bin" CGO_ENABLED=1 go install -trimpath \
  -ldflags "-s -w -X $M/version.Version=v$V" \
  "$M/cmd/containerd@v$V" "$M/cmd/containerd-shim-runc-v2@v$V" "$M/cmd/ctr@v$V"
"$STAGE/bin/containerd" --version | grep -q "v$V" || { log "containerd $V: unexpected --version"; exit 1; }
finish "$DIR" "$STAGE"
log "containerd $V: ready in $DIR/bin"
