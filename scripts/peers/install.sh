#!/usr/bin/env bash
# Installs (or finds cached) every real test peer. Usage: install.sh [peer...]
# Peers: etcd kubernetes helm moto hadolint toxiproxy. Default: all of them.
. "$(dirname "$0")/lib.sh"
peers=("$@")
[ ${#peers[@]} -gt 0 ] || peers=(moto etcd helm hadolint toxiproxy kubernetes)
start=$SECONDS
for p in "${peers[@]}"; do
  [ -f "$PEERS_SCRIPT_DIR/$p.sh" ] || { log "unknown peer: $p"; exit 2; }
  bash "$PEERS_SCRIPT_DIR/$p.sh"
done
log "peers ready in $((SECONDS - start)) s (cache: $PEERS_DIR)"
