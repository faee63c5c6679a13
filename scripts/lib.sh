# Shared by the setup scripts: the cache location, logging, and the checks they all need.
CACHE="${LAKEHOUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-kit}"
export CACHE

log() { printf '[test-env] %s\n' "$*" >&2; }
die() { printf '[test-env] ERROR: %s\n' "$*" >&2; exit 1; }

require_node22() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 22 ] || die "Node $major is on PATH; run through npm (npm test) so node_modules/.bin/node (Node 22, from the 'node' devDependency) is used"
}
