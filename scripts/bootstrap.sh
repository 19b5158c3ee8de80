#!/usr/bin/env bash
# Idempotent set-up, run by spark-submit.sh and the test command before anything else:
#   1. a virtual environment in .venv with pseudolink installed (pip install -e .[test]);
#   2. Delta's jars from Maven Central in .cache/jars (so jobs start with no network).
# The first run takes a few minutes (pyspark is a large download); later runs check two
# stamp files and return at once. Delete .venv or .cache/jars to force a fresh set-up.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=/dev/null
source "$here/versions.env"

venv=${PSEUDOLINK_VENV:-$here/.venv}
jars=$here/.cache/jars
say() { printf 'set-up: %s\n' "$*" >&2; }
die() { printf 'set-up failed: %s\n' "$*" >&2; exit 1; }

command -v java >/dev/null || die "java not found: install a Java 17 JDK (apt-get install openjdk-17-jdk-headless)"
command -v python3 >/dev/null || die "python3 not found: install Python 3.10 or newer"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  die "Python 3.10 or newer is needed, found $(python3 --version 2>&1)"

# 1. Python environment: reinstalled when setup.py or versions.env change.
want=$(cat "$here/setup.py" "$here/versions.env" | sha256sum | cut -c1-16)
stamp=$venv/.pseudolink-setup
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing the Python environment in ${venv#"$here"/} (first run only, a few minutes)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$here[test]" \
    "pyspark==$PYSPARK_VERSION" "delta-spark==$DELTA_VERSION" ||
    die "pip could not install the environment (see the messages above)"
  echo "$want" >"$stamp"
fi

# 2. Delta jars: resolved with Maven (runtime scope), minus what pyspark already ships.
jstamp=$jars/.complete
if [ ! -f "$jstamp" ] || [ "$(cat "$jstamp")" != "$DELTA_MAVEN_COORDINATE" ]; then
  command -v mvn >/dev/null || die "mvn not found: Maven fetches Delta's jars (apt-get install maven)"
  say "fetching $DELTA_MAVEN_COORDINATE and its dependencies from Maven Central"
  IFS=: read -r group artifact version <<<"$DELTA_MAVEN_COORDINATE"
  work=$here/.cache/maven
  rm -rf "$jars" "$work" && mkdir -p "$jars" "$work"
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>pseudolink</groupId><artifactId>delta-jars</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>$group</groupId><artifactId>$artifact</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
POM
  mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$jars" >"$work/mvn.log" 2>&1 ||
    die "Maven could not fetch $DELTA_MAVEN_COORDINATE (log: ${work#"$here"/}/mvn.log)"
  # Spark's own jars win on the classpath anyway; dropping the duplicates keeps it clean.
  spark_jars=$("$venv/bin/python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')
  for jar in "$jars"/*.jar; do
    base=$(basename "$jar" | sed -E 's/-[0-9][0-9A-Za-z.-]*\.jar$//')
    if compgen -G "$spark_jars/$base-[0-9]*.jar" >/dev/null; then rm -f "$jar"; fi
  done
  compgen -G "$jars/${artifact}-*.jar" >/dev/null || die "$artifact jar missing after the fetch"
  echo "$DELTA_MAVEN_COORDINATE" >"$jstamp"
  say "$(ls "$jars"/*.jar | wc -l) jars in ${jars#"$here"/}"
fi
