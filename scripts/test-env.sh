#!/usr/bin/env bash
# Installs everything the tests need, idempotently, cached outside the clone:
#   ${LAKEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-kit}
# Each component is one script in scripts/env.d/ (run in name order); each installs into a folder
# keyed by its pinned version, so a version bump rebuilds it and a second run is a no-op.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

require_node22
mkdir -p "$CACHE"
log "cache: $CACHE"
for part in "$here"/env.d/*.sh; do
  [ -e "$part" ] || continue
  started=$(date +%s)
  log "--- $(basename "$part")"
  bash "$part"
  log "--- $(basename "$part") done in $(( $(date +%s) - started ))s"
done
