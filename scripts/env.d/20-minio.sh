#!/usr/bin/env bash
# MinIO, the S3 test server: built from its Go module at a pinned commit (MinIO publishes no
# community binaries any more, and its module has no semver tags, hence a pseudo-version).
# Installs $CACHE/minio/<version>/minio; a second run with the same version does nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c" # master of 2026-02-12, the newest the proxy serves
dest="$CACHE/minio/$MINIO_VERSION"
if [ -x "$dest/minio" ]; then
  log "minio $MINIO_VERSION: cached at $dest"
  exit 0
fi
command -v go >/dev/null || die "go is not on PATH; MinIO is built from source with 'go install' (Go >= 1.24)"

mkdir -p "$CACHE/minio"
# One Go build at a time: they are heavy and the machine has 2 cores.
exec 9>"$CACHE/go-build.lock"
flock 9
if [ -x "$dest/minio" ]; then exit 0; fi
tmp="$(mktemp -d "$CACHE/minio/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "minio $MINIO_VERSION: building with go install (several minutes on a cold cache)"
started=$(date +%s)
GOBIN="$tmp" GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath" CGO_ENABLED=0 \
  go install "github.com/minio/minio@$MINIO_VERSION"
"$tmp/minio" --version >/dev/null
mv "$tmp" "$dest"
trap - EXIT
log "minio $MINIO_VERSION: built in $(( $(date +%s) - started ))s into $dest"
