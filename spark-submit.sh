#!/usr/bin/env bash
# Runs a pseudolink job with spark-submit.
#
#   ./spark-submit.sh JOB [--conf FILE] [--root DIR] [--master URL] [job options] [-- spark-submit args]
#
# It sets up the environment on first use (scripts/bootstrap.sh), builds the library
# fresh for --py-files, ships the config, adds the Delta jars and runs jobs/JOB.py.
#   --conf FILE   config file (default conf/local.yaml)
#   --root DIR    data root for this run (inbox/, bronze/, trusted/, release/, outbox/)
#   --master URL  local[*] (default), spark://host:port, yarn or k8s://... (see README)
#   -- ...        anything after -- goes to spark-submit itself (e.g. --driver-memory 6g)
# Environment: PSEUDOLINK_MASTER (default master), PSEUDOLINK_DRIVER_MEMORY (default 4g).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${PSEUDOLINK_VENV:-$here/.venv}

jobs_help() {
  python3 - "$here/jobs" <<'PY'
import ast, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("[a-z]*.py")):
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    print(f"  {path.stem:<14}{doc.splitlines()[0] if doc else ''}")
PY
}
usage() {
  cat <<USAGE
usage: ./spark-submit.sh JOB [--conf FILE] [--root DIR] [--master URL] [job options] [-- spark-submit args]

Jobs:
$(jobs_help)

Common options:
  --conf FILE   config file (default: conf/local.yaml)
  --root DIR    data root (a path or URI); overrides the config's root
  --master URL  Spark master: local[*] (default), spark://HOST:PORT, yarn, k8s://...
  -- ARGS       passed to spark-submit as they are (e.g. -- --driver-memory 6g)
  JOB --help    the options of one job
USAGE
}

if [ $# -eq 0 ]; then usage >&2; exit 2; fi
case $1 in -h | --help | help) usage; exit 0 ;; esac
job=$1; shift
if [[ ! $job =~ ^[a-z][a-z0-9_-]*$ ]] || [ ! -f "$here/jobs/$job.py" ]; then
  echo "spark-submit.sh: unknown job '$job'. Known jobs:" >&2; jobs_help >&2; exit 2
fi

conf=$here/conf/local.yaml
master=${PSEUDOLINK_MASTER:-local[*]}
job_args=() extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --conf) [ $# -ge 2 ] || { echo "spark-submit.sh: --conf needs a file" >&2; exit 2; }
      conf=$2; shift 2 ;;
    --conf=*) conf=${1#--conf=}; shift ;;
    --master) [ $# -ge 2 ] || { echo "spark-submit.sh: --master needs a URL" >&2; exit 2; }
      master=$2; shift 2 ;;
    --master=*) master=${1#--master=}; shift ;;
    --) shift; extra=("$@"); break ;;
    *) job_args+=("$1"); shift ;;
  esac
done
[ -f "$conf" ] || { echo "spark-submit.sh: config file not found: $conf" >&2; exit 2; }
conf=$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")

"$here/scripts/bootstrap.sh"

# A job's --help needs no Spark: answer it straight from Python.
for a in "${job_args[@]+"${job_args[@]}"}"; do
  if [ "$a" = "-h" ] || [ "$a" = "--help" ]; then
    PYTHONPATH="$here/lib" exec "$venv/bin/python" "$here/jobs/$job.py" --help
  fi
done

# The library, zipped fresh for the executors (--py-files).
dist=$here/.cache/dist
mkdir -p "$dist"
"$venv/bin/python" - "$here/lib" "$dist/pseudolink.zip" <<'PY'
import pathlib, sys, zipfile
lib, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
tmp = out.with_suffix(".tmp")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
    for f in sorted((lib / "pseudolink").rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            zf.write(f, f.relative_to(lib).as_posix())
tmp.replace(out)
PY

# HotSpot never JIT-compiles a method over 8000 bytes of bytecode: the whole-stage code of
# the ingest's validation (one projection over every column) is larger and would run in
# the interpreter, about 3x slower (docs/ingest.md, "Performance"). Executors get the same
# flag from the session factory.
JIT_OPTIONS="-XX:-DontCompileHugeMethods"
jar_list=$(find "$here/.cache/jars" -name '*.jar' | sort | paste -sd, -)
spark_args=(--master "$master" --name "pseudolink-$job" --jars "$jar_list"
  --py-files "$dist/pseudolink.zip" --files "$conf"
  --driver-java-options "-Dlog4j2.configurationFile=file:$here/conf/log4j2.properties $JIT_OPTIONS"
  --conf spark.ui.showConsoleProgress=false)
if [[ $master == local* ]]; then
  export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}  # nothing of a local run leaves loopback
fi
if [[ $master == local* ]] && [[ " ${extra[*]+"${extra[*]}"} " != *" --driver-memory "* ]]; then
  spark_args+=(--driver-memory "${PSEUDOLINK_DRIVER_MEMORY:-4g}")
fi

export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$venv/bin/python}
export PYSPARK_DRIVER_PYTHON=${PYSPARK_DRIVER_PYTHON:-$venv/bin/python}
export PSEUDOLINK_HOME=$here
exec "$venv/bin/spark-submit" "${spark_args[@]}" "${extra[@]+"${extra[@]}"}" \
  "$here/jobs/$job.py" --conf "$conf" "${job_args[@]+"${job_args[@]}"}"
