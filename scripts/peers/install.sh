#!/usr/bin/env bash
# Installs (or finds cached) every real test peer. Usage: install.sh [peer...]
# Peers: moto etcd helm hadolint toxiproxy kubernetes, and for the test node (test/node/):
# node-host (host tools: nft, nsenter, ip) runc cni-plugins pause containerd coredns.
# Default: all of them. Benchmark-only, built on first use and not in the default:
# eks-pod-identity-agent (bench/eks-agent-fixture.ts).
. "$(dirname "$0")/lib.sh"
peers=("$@")
[ ${#peers[@]} -gt 0 ] ||
  peers=(moto etcd helm hadolint toxiproxy node-host runc cni-plugins pause containerd coredns kubernetes)
start=$SECONDS
for p in "${peers[@]}"; do
  [ -f "$PEERS_SCRIPT_DIR/$p.sh" ] || { log "unknown peer: $p"; exit 2; }
  bash "$PEERS_SCRIPT_DIR/$p.sh"
done
log "peers ready in $((SECONDS - start)) s (cache: $PEERS_DIR)"
