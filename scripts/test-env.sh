#!/usr/bin/env bash
# Installs everything the tests need, idempotently, cached outside the clone:
#   ${LAKEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-kit}
# Each component lives in a folder keyed by its pinned version, so a version bump rebuilds it and
# a second run is a no-op. Writes the environment the tests read to $CACHE/env.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

require_node22
mkdir -p "$CACHE"
log "cache: $CACHE"
