#!/usr/bin/env bash
# Builds helm from the Go module proxy (its go.mod has no replace directives).
. "$(dirname "$0")/lib.sh"
V=$HELM_VERSION
MAJOR=${V%%.*}
DIR="$PEERS_DIR/helm-$V"
if peer_ready "$DIR"; then log "helm $V: cached at $DIR"; exit 0; fi
start_stage "helm-$V"
log "helm $V: go install (cold: 2-4 min)"
# Pinning the version ldflag keeps `helm version` honest; go install leaves it unset otherwise.
with_ticker env GOBIN="$STAGE/bin" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v$MAJOR/internal/version.version=v$V" \
  "helm.sh/helm/v$MAJOR/cmd/helm@v$V"
finish "$DIR" "$STAGE"
log "helm $V: ready in $DIR/bin"
