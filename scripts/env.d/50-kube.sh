#!/usr/bin/env bash
# The Kubernetes API server for the operator tests: kube-apiserver, an embedded etcd and kubectl,
# built as one binary from the Go module in test/kube/ (its go.mod pins k8s.io/kubernetes and the
# matching staging modules). No Docker, no kind.
# Installs $CACHE/kube-<version>/bin/kube-testenv and bin/kubectl (a symlink to it). A second run
# with the same version and the same test/kube sources does nothing; changed sources rebuild.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

src="$root/test/kube"
version="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$src/go.mod")"
[ -n "$version" ] || die "test/kube/go.mod does not require k8s.io/kubernetes"
dest="$CACHE/kube-$version"
# What the binary is built from: a change to any of it rebuilds.
sources_key() { (cd "$src" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16); }
key="$(sources_key)"

built() { [ -x "$dest/bin/kube-testenv" ] && [ "$(cat "$dest/sources.key" 2>/dev/null)" = "$key" ]; }
if built; then
  [ "${1:-}" = "--prefetch" ] || log "kube $version: cached at $dest"
  exit 0
fi
command -v go >/dev/null || die "go is not on PATH; kube-apiserver is built from source (Go >= 1.26, see test/kube/go.mod)"

# --prefetch: only download the modules (~600 MB, network-bound), so test-env.sh can do it while
# the other parts build. Go's module cache is safe for concurrent use.
if [ "${1:-}" = "--prefetch" ]; then
  (cd "$src" && go mod download)
  exit 0
fi

mkdir -p "$CACHE"
# One Go build at a time: they are heavy and the machine has 2 cores.
exec 9>"$CACHE/go-build.lock"
flock 9
if built; then exit 0; fi
tmp="$(mktemp -d "$CACHE/.kube-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# kube-apiserver reports this version (/version) and derives its API compatibility version from
# it; kubectl reports it as its client version.
minor="$(echo "$version" | cut -d. -f2)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

log "kube $version: building kube-apiserver + etcd + kubectl (about 15 minutes on a cold Go cache, 2 cores)"
started=$(date +%s)
mkdir -p "$tmp/bin"
(cd "$src" && CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath -ldflags "$ldflags" \
  -o "$tmp/bin/kube-testenv" .)
ln -s kube-testenv "$tmp/bin/kubectl"
[ "$("$tmp/bin/kube-testenv" version)" = "$version" ] || die "the built binary does not report $version"
echo "$key" >"$tmp/sources.key"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
log "kube $version: built in $(($(date +%s) - started))s into $dest"
