#!/usr/bin/env bash
# Builds toxiproxy (server and cli) from the Go module proxy (its go.mod has no replace
# directives). The main packages are cmd/server and cmd/cli, so the binaries are renamed.
. "$(dirname "$0")/lib.sh"
V=$TOXIPROXY_VERSION
DIR="$PEERS_DIR/toxiproxy-$V"
if peer_ready "$DIR"; then log "toxiproxy $V: cached at $DIR"; exit 0; fi
start_stage "toxiproxy-$V"
log "toxiproxy $V: go install (cold: about 1 min)"
# The version ldflag keeps `toxiproxy-server -version` honest; go install leaves it unset otherwise.
with_ticker env GOBIN="$STAGE/bin" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=$V" \
  "github.com/Shopify/toxiproxy/v2/cmd/server@v$V" \
  "github.com/Shopify/toxiproxy/v2/cmd/cli@v$V"
mv "$STAGE/bin/server" "$STAGE/bin/toxiproxy-server"
mv "$STAGE/bin/cli" "$STAGE/bin/toxiproxy-cli"
finish "$DIR" "$STAGE"
log "toxiproxy $V: ready in $DIR/bin"
