# Shared helpers for the peer installers. Sourced, not run.
set -euo pipefail
PEERS_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$PEERS_SCRIPT_DIR/versions.env"

# Per-user cache outside the clone, so a fresh CI clone on the same machine reuses it.
CACHE_ROOT="${IAM_SIDECAR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/iam-sidecar}"
PEERS_DIR="$CACHE_ROOT/peers"
mkdir -p "$PEERS_DIR"

log() { printf '[peers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# peer_ready DIR: true when DIR holds a finished build (the marker is written last).
peer_ready() { [ -f "$1/.complete" ]; }

# with_ticker CMD...: runs CMD and prints a line every 20 s so a cold build never looks hung.
with_ticker() {
  local start=$SECONDS last=$SECONDS
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( SECONDS - last >= 20 )) && kill -0 "$pid" 2>/dev/null; then
      last=$SECONDS
      log "  ... still working ($((SECONDS - start)) s)"
    fi
  done
  wait "$pid"
}

# start_stage NAME: makes $STAGE, a staging folder (with bin/) under $PEERS_DIR that is removed
# when the script exits, unless finish has moved it into place.
start_stage() {
  STAGE=$(mktemp -d "$PEERS_DIR/.$1.XXXX")
  trap 'rm -rf "$STAGE"' EXIT
  mkdir -p "$STAGE/bin"
}

# finish DIR STAGING: atomically moves a finished build into place.
finish() {
  local dir=$1 staging=$2
  touch "$staging/.complete"
  rm -rf "$dir"
  mv "$staging" "$dir"
  trap - EXIT
}

# go_module_field MODULE@VERSION FIELD: one field (Dir, GoMod) of `go mod download -json`.
go_module_field() {
  go mod download -json "$1" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$2"
}

# apt_install WHO PKG...: installs Debian packages when running as root with apt-get; otherwise
# fails naming them.
apt_install() {
  local who=$1; shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "$who: installing $* (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
  else
    log "$who: needs the Debian packages $* (run as root or install them)"
    return 1
  fi
}
