#!/usr/bin/env bash
# Builds the pod sandbox's pause binary from build/pause/linux/pause.c in the k8s.io/kubernetes
# module (the same module kubernetes.sh builds from, so it is usually in the module cache
# already). Static, as upstream builds it for the pause image.
# Result: $PEERS_DIR/pause-<kubernetes version>/bin/pause.
. "$(dirname "$0")/lib.sh"
KV=$KUBERNETES_VERSION
DIR="$PEERS_DIR/pause-$KV"
if peer_ready "$DIR"; then log "pause (kubernetes $KV): cached at $DIR"; exit 0; fi
command -v go >/dev/null || { log "go is required to fetch the kubernetes module"; exit 1; }
command -v gcc >/dev/null || { log "pause: gcc is required: apt-get install gcc libc6-dev"; exit 1; }
start_stage "pause-$KV"
cd "$STAGE"
log "pause (kubernetes $KV): locating k8s.io/kubernetes@v$KV (a download unless cached)"
SRC=$(with_ticker go_module_field "k8s.io/kubernetes@v$KV" Dir)
# `pause -v` prints the pause image version upstream's Makefile stamps (TAG), not the k8s one.
TAG=$(sed -n 's/^TAG ?= *\([0-9][0-9.]*\)$/\1/p' "$SRC/build/pause/Makefile")
log "pause (kubernetes $KV): compiling pause.c (pause ${TAG:-unknown})"
gcc -static -O2 -Wall -Werror -DVERSION="v${TAG:-$KV}" -o "$STAGE/bin/pause" "$SRC/build/pause/linux/pause.c"
"$STAGE/bin/pause" -v | grep -q '^pause\.c v' || { log "pause: unexpected -v output"; exit 1; }
cd "$PEERS_DIR"
finish "$DIR" "$STAGE"
log "pause (kubernetes $KV): ready in $DIR/bin"
