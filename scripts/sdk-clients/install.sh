#!/usr/bin/env bash
# Builds (or finds cached) the real AWS SDK client programs of test/sdk-clients/.
# Usage: scripts/sdk-clients/install.sh [id...]   (default: all of them)
# Ids: js-v3 js-v2 python-boto3 awscli go-v2 java-v2 rust.
#
# Each client goes to $CACHE_ROOT/sdk-clients/<id>-<version>-<source hash>/, a folder name that
# test/sdk-clients/clients.ts computes (`clients.ts plan`) so the tests and this script always
# agree. A build happens in a staging folder that is moved into place and marked .complete last;
# a folder with the marker is reused. Build outputs stay in the cache, never in the repo.
# Needs: Node 24 (the project's node_modules/.bin/node), npm, python3 (venv), go, java + mvn, cargo.
set -euo pipefail
. "$(dirname "$0")/../peers/lib.sh"
log() { printf '[sdk-clients %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

ROOT="$(cd "$PEERS_SCRIPT_DIR/../.." && pwd)"
SDK_DIR="$CACHE_ROOT/sdk-clients"
NODE="$ROOT/node_modules/.bin/node"
[ -x "$NODE" ] || NODE=node
PYTHON="${IAM_SIDECAR_PYTHON:-python3}"
mkdir -p "$SDK_DIR"

STAGING=""
trap '[ -z "$STAGING" ] || rm -rf "$STAGING"' EXIT

# Each build_<id> SRC OUT builds from the source folder SRC into the empty staging folder OUT.

build_js-v2() {
  cp "$1/package.json" "$1/package-lock.json" "$1/client.mjs" "$2/"
  (cd "$2" && with_ticker npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
}

# A venv is moved from staging with the rest, so the clients run `venv/bin/python` (which finds
# its pyvenv.cfg relative to itself) rather than console scripts with staging-path shebangs.
make_venv() {
  "$PYTHON" -m venv "$2/venv"
  with_ticker "$2/venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    -r "$1/requirements.txt"
}

build_python-boto3() {
  make_venv "$1" "$2"
  cp "$1/client.py" "$2/"
}

build_awscli() {
  make_venv "$1" "$2"
  "$2/venv/bin/python" -m awscli --version >&2
}

build_go-v2() {
  (cd "$1" && CGO_ENABLED=0 with_ticker go build -mod=readonly -trimpath -o "$2/sts-client" .)
}

# Maven's own log goes to a file, shown only on failure (Maven 3.8's -q -B still prints escapes).
mvn_package() {
  mvn -B -ntp -f "$1/pom.xml" package >"$1/maven.log" 2>&1 || { cat "$1/maven.log" >&2; return 1; }
}

build_java-v2() {
  # Maven writes target/ next to the pom, so build a copy inside staging and keep only the jar.
  mkdir "$2/build"
  cp -r "$1/pom.xml" "$1/src" "$2/build/"
  with_ticker mvn_package "$2/build"
  mv "$2/build/target/sts-client.jar" "$2/"
  rm -rf "$2/build"
}

build_rust() {
  # One target folder for every version: a source change rebuilds only this crate, not the SDK.
  CARGO_TARGET_DIR="$SDK_DIR/.cargo-target" with_ticker cargo build --release --locked \
    --quiet --manifest-path "$1/Cargo.toml"
  cp "$SDK_DIR/.cargo-target/release/sts-client" "$2/"
}

# prune_old ID DIR: removes finished builds of ID other than DIR (an older version or source),
# so the cache holds one build per client. Other callers' staging folders are left alone.
prune_old() {
  local old
  for old in "$SDK_DIR/$1"-*; do
    [[ "$old" != "$2" && "$old" != *.staging.* && -f "$old/.complete" ]] || continue
    log "$1: removing superseded build $(basename "$old")"
    rm -rf "$old"
  done
}

install_one() {
  local id=$1 version=$2 dir=$3 src=$4 start=$SECONDS
  if [ "$id" = js-v3 ]; then
    # The project's own dependency: `npm ci` in the project installs it.
    [ -d "$ROOT/node_modules/@aws-sdk/client-sts" ] || { log "js-v3: run npm ci first"; exit 1; }
    log "js-v3 $version: uses the project's node_modules"
    return
  fi
  # One builder per client at a time; a second caller waits, then finds the finished build.
  exec {lock}>"$SDK_DIR/.lock-$id"
  flock "$lock"
  if peer_ready "$dir"; then
    log "$id $version: cached at $dir"
  else
    log "$id $version: building into $dir"
    STAGING="$dir.staging.$$"
    rm -rf "$STAGING"
    mkdir -p "$STAGING"
    "build_$id" "$src" "$STAGING"
    finish "$dir" "$STAGING"
    STAGING=""
    log "$id $version: built in $((SECONDS - start)) s ($(du -sh "$dir" | cut -f1))"
  fi
  prune_old "$id" "$dir"
  exec {lock}>&-
}

start=$SECONDS
plan=$("$NODE" "$ROOT/test/sdk-clients/clients.ts" plan "$@")
while IFS=$'\t' read -r id version dir src; do
  install_one "$id" "$version" "$dir" "$src"
done <<<"$plan"
log "SDK clients ready in $((SECONDS - start)) s (cache: $SDK_DIR)"
