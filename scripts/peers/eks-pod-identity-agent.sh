#!/usr/bin/env bash
# Builds the EKS Pod Identity Agent, a benchmark peer (bench/sidecar.ts compares it with the
# sidecar), from its source tarball: by default shared/peers/eks-pod-identity-agent-<version>.tar.gz
# beside the clone, or the file EKS_POD_IDENTITY_AGENT_TARBALL names; its digest must match
# versions.env. Its EKS Auth SDK module is not served by the Go module proxy here, so a `replace`
# points it at scripts/peers/eksauth-stand-in/, a STAND-IN that only the agent's cold path calls
# (against the stand-in endpoint in bench/eks-auth-stand-in.ts). Everything else comes from the
# Go module proxy at the versions the agent's go.sum pins.
# Result: $PEERS_DIR/eks-pod-identity-agent-<version>/bin/eks-pod-identity-agent.
. "$(dirname "$0")/lib.sh"
V=$EKS_POD_IDENTITY_AGENT_VERSION
DIR="$PEERS_DIR/eks-pod-identity-agent-$V"
if peer_ready "$DIR"; then log "eks-pod-identity-agent $V: cached at $DIR"; exit 0; fi
command -v go >/dev/null || { log "go is required to build eks-pod-identity-agent"; exit 1; }
REPO_ROOT="$(cd "$PEERS_SCRIPT_DIR/../.." && pwd)"
TARBALL="${EKS_POD_IDENTITY_AGENT_TARBALL:-$REPO_ROOT/../shared/peers/eks-pod-identity-agent-$V.tar.gz}"
[ -f "$TARBALL" ] || { log "eks-pod-identity-agent $V: source tarball not found at $TARBALL"; exit 1; }
echo "$EKS_POD_IDENTITY_AGENT_SHA256  $TARBALL" | sha256sum -c --quiet - ||
  { log "eks-pod-identity-agent $V: $TARBALL does not match the digest in versions.env"; exit 1; }
start_stage "eks-pod-identity-agent-$V"
tar -xzf "$TARBALL" -C "$STAGE"
cd "$STAGE/eks-pod-identity-agent"
# The stand-in is copied into the stage so that the build never writes into the clone.
cp -r "$PEERS_SCRIPT_DIR/eksauth-stand-in" "$STAGE/eksauth-stand-in"
go mod edit -replace "github.com/aws/aws-sdk-go-v2/service/eksauth=$STAGE/eksauth-stand-in"
log "eks-pod-identity-agent $V: compiling with the eksauth stand-in (cold: about 1 min)"
# Flags as upstream's Makefile sets them (the version is the one its --version reports).
# GOTOOLCHAIN=local: the agent asks for go 1.26.1; never download a toolchain for it.
with_ticker env GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod go build -buildvcs=false -trimpath \
  -ldflags "-s -w -X go.amzn.com/eks/eks-pod-identity-agent/configuration.AgentVersion=$V" \
  -o "$STAGE/bin/eks-pod-identity-agent" .
"$STAGE/bin/eks-pod-identity-agent" --help >/dev/null
cd "$PEERS_DIR"
rm -rf "$STAGE/eks-pod-identity-agent" "$STAGE/eksauth-stand-in"
finish "$DIR" "$STAGE"
log "eks-pod-identity-agent $V: ready in $DIR/bin"
