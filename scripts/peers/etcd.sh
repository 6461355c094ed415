#!/usr/bin/env bash
# Builds etcd from the Go module proxy. etcd's own go.mod files carry replace directives, but
# server/v3 requires only published modules, so a wrapper with no replaces builds it.
. "$(dirname "$0")/lib.sh"
V=$ETCD_VERSION
DIR="$PEERS_DIR/etcd-$V"
if peer_ready "$DIR"; then log "etcd $V: cached at $DIR"; exit 0; fi
start_stage "etcd-$V"
mkdir "$STAGE/src" && cd "$STAGE/src"
printf 'module local/etcdbin\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v%s\n\ntool go.etcd.io/etcd/server/v3\n' "$V" > go.mod
log "etcd $V: downloading modules"
with_ticker go mod tidy
log "etcd $V: compiling (cold: 1-3 min)"
with_ticker env CGO_ENABLED=0 go build -trimpath -o "$STAGE/bin/etcd" go.etcd.io/etcd/server/v3
rm -rf "$STAGE/src"
finish "$DIR" "$STAGE"
log "etcd $V: ready in $DIR/bin"
