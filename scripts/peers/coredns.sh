#!/usr/bin/env bash
# Builds CoreDNS (the test node's cluster DNS) from the Go module proxy. Its go.mod has no
# replace directives at the pinned version, so `go install` builds it with the default plugins.
# Result: $PEERS_DIR/coredns-<version>/bin/coredns.
. "$(dirname "$0")/lib.sh"
V=$COREDNS_VERSION
DIR="$PEERS_DIR/coredns-$V"
if peer_ready "$DIR"; then log "coredns $V: cached at $DIR"; exit 0; fi
command -v go >/dev/null || { log "go is required to build coredns"; exit 1; }
start_stage "coredns-$V"
log "coredns $V: go install (cold: 3-8 min on 2 cores)"
# The version itself is a constant in coremain; the commit (unknown here) is left empty.
with_ticker env GOBIN="$STAGE/bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
  "github.com/coredns/coredns@v$V"
"$STAGE/bin/coredns" -version | grep -q "^CoreDNS-$V\$" || { log "coredns $V: unexpected -version"; exit 1; }
finish "$DIR" "$STAGE"
log "coredns $V: ready in $DIR/bin"
