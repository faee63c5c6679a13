#!/usr/bin/env bash
# fake-gcs-server, the GCS test server: built from its Go module at a pinned release. v1.56.1
# (2026-08-24) is after fsouza/fake-gcs-server#2343 (2026-08): older releases ignore
# ifGenerationMatch on some upload paths, which the Delta log relies on.
# Installs $CACHE/fake-gcs-server/<version>/fake-gcs-server; a second run does nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

FAKE_GCS_VERSION="v1.56.1"
dest="$CACHE/fake-gcs-server/$FAKE_GCS_VERSION"
if [ -x "$dest/fake-gcs-server" ]; then
  log "fake-gcs-server $FAKE_GCS_VERSION: cached at $dest"
  exit 0
fi
command -v go >/dev/null || die "go is not on PATH; fake-gcs-server is built from source with 'go install'"

mkdir -p "$CACHE/fake-gcs-server"
# One Go build at a time: they are heavy and the machine has 2 cores.
exec 9>"$CACHE/go-build.lock"
flock 9
if [ -x "$dest/fake-gcs-server" ]; then exit 0; fi
tmp="$(mktemp -d "$CACHE/fake-gcs-server/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "fake-gcs-server $FAKE_GCS_VERSION: building with go install"
started=$(date +%s)
GOBIN="$tmp" GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath" CGO_ENABLED=0 \
  go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
[ -x "$tmp/fake-gcs-server" ] || die "go install did not produce fake-gcs-server"
mv "$tmp" "$dest"
trap - EXIT
log "fake-gcs-server $FAKE_GCS_VERSION: built in $(( $(date +%s) - started ))s into $dest"
