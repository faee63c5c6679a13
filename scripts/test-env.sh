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
# Network-bound work runs beside the CPU-bound Go builds (2 cores): the Python peers (pip and
# Maven downloads) and the kube module's downloads (~600 MB) start now, in the background.
background=()
start_background() { # <name> <command...>
  local name=$1
  shift
  log "--- $name (in the background, log: $CACHE/.$name.log)"
  ("$@" >"$CACHE/.$name.log" 2>&1; echo $? >"$CACHE/.$name.rc") &
  background+=("$name:$!")
}
finish_background() { # <name>: wait for it; fail with its log if it failed
  local entry
  for entry in "${background[@]}"; do
    [ "${entry%%:*}" = "$1" ] || continue
    wait "${entry#*:}" || true
    if [ "$(cat "$CACHE/.$1.rc" 2>/dev/null)" != 0 ]; then
      cat "$CACHE/.$1.log" >&2
      die "$1 failed (its output is above)"
    fi
    cat "$CACHE/.$1.log" >&2
    log "--- $1 done"
  done
}
start_background 10-python-peers bash "$here/env.d/10-python-peers.sh"
start_background kube-modules bash "$here/env.d/50-kube.sh" --prefetch
for part in "$here"/env.d/*.sh; do
  [ -e "$part" ] || continue
  name="$(basename "$part" .sh)"
  [ "$name" = 10-python-peers ] && continue
  [ "$name" = 50-kube ] && finish_background kube-modules
  started=$(date +%s)
  log "--- $name"
  bash "$part"
  log "--- $name done in $(($(date +%s) - started))s"
done
finish_background 10-python-peers
