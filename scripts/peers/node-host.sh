#!/usr/bin/env bash
# Makes sure the host has the tools the test node (test/node/) needs at run time that the Go
# module proxy cannot provide. Writes no cache folder; exits at once when all are present.
#   nft     (Debian: nftables)   kube-proxy in nftables mode shells out to `nft` to program the
#                                Service rules, inside the test's own network namespace. Its
#                                library (sigs.k8s.io/knftables) refuses nft older than 1.0.1.
#   nsenter (Debian: util-linux) runs commands (and the node's processes) inside that namespace.
#   ip      (Debian: iproute2)   creates the namespace, its veth pair, addresses and routes.
. "$(dirname "$0")/lib.sh"
# where BIN: its path, from PATH or from the sbin folders a non-root PATH often lacks.
where() {
  command -v "$1" && return
  local d; for d in /usr/sbin /sbin; do [ -x "$d/$1" ] && { echo "$d/$1"; return; }; done
  return 1
}
have() { where "$1" >/dev/null; }
# nft_recent: true when nft is at least 1.0.1 ("nftables v1.0.6 (Lester Gooch #5)").
nft_recent() {
  local v; v=$("$(where nft)" --version | sed -n 's/^nftables v\([0-9][0-9.]*\).*/\1/p')
  [ -n "$v" ] && [ "$(printf '1.0.1\n%s\n' "$v" | sort -V | head -n1)" = 1.0.1 ]
}
declare -A PKG=([nft]=nftables [nsenter]=util-linux [ip]=iproute2)
missing=()
for bin in nft nsenter ip; do have "$bin" || missing+=("${PKG[$bin]}"); done
if [ ${#missing[@]} -eq 0 ]; then
  nft_recent || { log "node-host: $(where nft) is older than 1.0.1, which kube-proxy (nftables mode) needs"; exit 1; }
  log "node-host: nft, nsenter, ip present"; exit 0
fi
apt_install node-host "${missing[@]}" || exit 1
for bin in nft nsenter ip; do have "$bin" || { log "node-host: $bin still missing"; exit 1; }; done
nft_recent || { log "node-host: $(where nft) is older than 1.0.1, which kube-proxy (nftables mode) needs"; exit 1; }
log "node-host: ready"
