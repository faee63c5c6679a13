#!/usr/bin/env bash
# Azurite, the Azure Blob test server, is an npm devDependency (installed by npm ci); it needs
# Node >= 22, which the 'node' devDependency provides. Nothing to install: check that it runs.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

root="$(cd "$here/.." && pwd)"
bin="$root/node_modules/.bin/azurite-blob"
node="$root/node_modules/.bin/node"
[ -x "$bin" ] || die "Azurite is missing ($bin); run npm ci"
[ -x "$node" ] || die "Node 22 from the 'node' devDependency is missing ($node); run npm ci"
version="$("$node" "$bin" --version)"
log "azurite $version: from node_modules, run with $("$node" --version)"
