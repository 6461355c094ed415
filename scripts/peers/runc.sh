#!/usr/bin/env bash
# Builds runc (the OCI runtime containerd's shim runs) from the Go module proxy, with seccomp.
# It is built from a writable copy of the downloaded module rather than with `go install`, which
# refuses modules whose go.mod has replace directives (runc's has had them). seccomp needs cgo
# and libseccomp (Debian: libseccomp-dev, found through pkg-config).
# Result: $PEERS_DIR/runc-<version>/bin/runc.
. "$(dirname "$0")/lib.sh"
V=$RUNC_VERSION
DIR="$PEERS_DIR/runc-$V"
if peer_ready "$DIR"; then log "runc $V: cached at $DIR"; exit 0; fi
command -v go >/dev/null || { log "go is required to build runc"; exit 1; }
command -v gcc >/dev/null || { log "runc $V: gcc is required (cgo): apt-get install gcc libc6-dev"; exit 1; }
pkg-config --exists libseccomp 2>/dev/null || apt_install "runc $V" libseccomp-dev pkg-config || exit 1
start_stage "runc-$V"
cd "$STAGE"
log "runc $V: downloading the module"
SRC=$(go_module_field "github.com/opencontainers/runc@v$V" Dir)
# The module cache is read-only; the build needs a directory of its own.
cp -r "$SRC" "$STAGE/src" && chmod -R u+w "$STAGE/src" && cd "$STAGE/src"
log "runc $V: compiling (cold: about 1 min)"
# Tags as upstream's Makefile sets them. -X main.version overrides the embedded VERSION file, so
# `runc --version` always names the pinned version.
with_ticker env CGO_ENABLED=1 go build -buildvcs=false -trimpath -tags "seccomp urfave_cli_no_docs" \
  -ldflags "-s -w -X main.version=$V" -o "$STAGE/bin/runc" .
"$STAGE/bin/runc" --version | grep -q '^libseccomp: ' || { log "runc $V: built without seccomp"; exit 1; }
"$STAGE/bin/runc" --version | grep -q "^runc version $V\$" || { log "runc $V: unexpected --version"; exit 1; }
cd "$PEERS_DIR"
rm -rf "$STAGE/src"
finish "$DIR" "$STAGE"
log "runc $V: ready in $DIR/bin"
