#!/usr/bin/env bash
# The Python peers the tests compare against: delta-rs (deltalake) and Spark with Delta
# (pyspark + delta-spark), plus the IaC linters (cfn-lint, checkov). Idempotent.
#
# Installs, under $CACHE:
#   venv-<key>/                 pinned test/peers/requirements.txt (key: hash of it + Python version)
#   venv-iac-<key>/             pinned test/peers/iac-requirements.txt, a venv of its own because
#                               checkov pins many shared libraries
#   spark-jars-<delta>-<spark>/ the Delta jars and their runtime dependencies, resolved through
#                               Maven now so that Spark starts offline at test time
#   m2/, pip/                   the Maven and pip download caches
#   peers.json                  where the above are, so the tests need not recompute any key
# Each folder gets a ".complete" marker as its last step; a folder without one is rebuilt.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

peers_requirements="$root/test/peers/requirements.txt"
iac_requirements="$root/test/peers/iac-requirements.txt"
python="${LAKEHOUSE_PYTHON:-python3}"
export PIP_CACHE_DIR="$CACHE/pip" PIP_DISABLE_PIP_VERSION_CHECK=1

command -v "$python" >/dev/null || die "no $python on PATH; install Python >= 3.10 (or set LAKEHOUSE_PYTHON)"
py_version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
  die "$python is Python $py_version; pyspark 4 needs >= 3.10 (set LAKEHOUSE_PYTHON to another interpreter)"
command -v java >/dev/null || die "no java on PATH; Spark 4 needs Java 17 (apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null || die "no mvn on PATH; it resolves the Delta jars (apt-get install maven)"

# One installer at a time (a developer's npm test and CI may share the cache).
mkdir -p "$CACHE"
exec 9>"$CACHE/python-peers.lock"
flock 9

# The pinned version of a package in a requirements file.
pin() { sed -n "s/^$1==\\([^ ]*\\).*/\\1/p" "$2"; }
# A short key naming the content of a requirements file and the interpreter it is built for.
key_of() { { cat "$1"; echo "python $py_version"; } | sha256sum | cut -c1-12; }

# make_venv DIR REQUIREMENTS: a venv with exactly the pinned packages; no-op if already complete.
make_venv() {
  local dir="$1" requirements="$2"
  if [ -f "$dir/.complete" ]; then
    log "$(basename "$dir") is installed"
    return
  fi
  rm -rf "$dir"
  log "creating $(basename "$dir") from $(basename "$requirements") (Python $py_version)"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --upgrade pip
  "$dir/bin/pip" install --quiet --requirement "$requirements"
  "$dir/bin/pip" check >&2 || die "$(basename "$requirements") has conflicting pins (see pip check above)"
  touch "$dir/.complete"
}

peers_venv="$CACHE/venv-$(key_of "$peers_requirements")"
iac_venv="$CACHE/venv-iac-$(key_of "$iac_requirements")"
make_venv "$peers_venv" "$peers_requirements"
make_venv "$iac_venv" "$iac_requirements"

# The Delta jar for this pyspark: io.delta:delta-spark_<spark major.minor>_2.13:<delta-spark>.
delta_version="$(pin delta-spark "$peers_requirements")"
spark_version="$(pin pyspark "$peers_requirements")"
deltalake_version="$(pin deltalake "$peers_requirements")"
spark_minor="$(echo "$spark_version" | cut -d. -f1,2)"
delta_artifact="io.delta:delta-spark_${spark_minor}_2.13:$delta_version"
jars="$CACHE/spark-jars-$delta_version-spark$spark_minor"
if [ -f "$jars/.complete" ]; then
  log "$(basename "$jars") is resolved"
else
  rm -rf "$jars"
  log "resolving $delta_artifact and its runtime dependencies through Maven"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # Spark itself is "provided" by pyspark: copy only the compile and runtime scopes.
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lakehouse-kit</groupId>
  <artifactId>spark-peer-jars</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.delta</groupId>
      <artifactId>delta-spark_${spark_minor}_2.13</artifactId>
      <version>$delta_version</version>
    </dependency>
  </dependencies>
</project>
POM
  if ! mvn --batch-mode -f "$work/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$jars" >"$work/mvn.log" 2>&1; then
    tail -n 30 "$work/mvn.log" >&2
    die "Maven could not resolve $delta_artifact (is Maven Central reachable?)"
  fi
  ls "$jars"/delta-spark_*.jar >/dev/null 2>&1 || die "Maven copied no delta-spark jar into $jars"
  # Drop what pyspark already ships (Hadoop, Parquet, Jackson, Scala, log4j, ... in other
  # versions): Spark provides those, as "spark.jars.packages" would assume too.
  "$peers_venv/bin/python" - "$jars" <<'PY'
import os, re, sys, pyspark
jars = sys.argv[1]
artifact = lambda name: re.sub(r"-\d[^-]*(-\d+)?\.jar$", "", name)
provided = {artifact(n) for n in os.listdir(os.path.join(os.path.dirname(pyspark.__file__), "jars"))}
for name in sorted(os.listdir(jars)):
    if artifact(name) in provided:
        os.remove(os.path.join(jars, name))
PY
  touch "$jars/.complete"
fi

# The pointer the TypeScript harness (test/harness/peers.ts) reads.
"$peers_venv/bin/python" - "$CACHE/peers.json" "$peers_venv" "$iac_venv" "$jars" \
  "$deltalake_version" "$spark_version" "$delta_version" "$delta_artifact" <<'PY'
import glob, json, os, sys
out, venv, iac, jars, deltalake, spark, delta, artifact = sys.argv[1:]
doc = {
    "python": os.path.join(venv, "bin", "python"),
    "jars": sorted(glob.glob(os.path.join(jars, "*.jar"))),
    "versions": {"deltalake": deltalake, "pyspark": spark, "delta-spark": delta, "deltaJar": artifact},
    "iac": {
        "python": os.path.join(iac, "bin", "python"),
        "cfnLint": os.path.join(iac, "bin", "cfn-lint"),
        "checkov": os.path.join(iac, "bin", "checkov"),
    },
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(tmp, out)
PY
log "peers: $CACHE/peers.json"
