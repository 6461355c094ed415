#!/usr/bin/env bash
# Installs moto's server (the STS peer) into a virtualenv in the cache.
. "$(dirname "$0")/lib.sh"
V=$MOTO_VERSION
DIR="$PEERS_DIR/moto-$V"
if peer_ready "$DIR"; then log "moto $V: cached at $DIR"; exit 0; fi
PY=$(command -v python3) || { log "python3 is required for moto"; exit 1; }
rm -rf "$DIR"   # a venv is not relocatable, so it is built in place and marked complete last
log "moto $V: creating virtualenv and installing moto[server]==$V"
"$PY" -m venv "$DIR"
with_ticker "$DIR/bin/pip" install --disable-pip-version-check -q "moto[server]==$V"
touch "$DIR/.complete"
log "moto $V: ready in $DIR/bin"
