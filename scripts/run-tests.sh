#!/usr/bin/env bash
# The test command: set-up (first run only), ruff check, ruff format --check, pytest.
# Arguments go to pytest (e.g. scripts/run-tests.sh -k config -x).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
"$here/scripts/bootstrap.sh"
venv=${PSEUDOLINK_VENV:-$here/.venv}
export SPARK_LOCAL_IP=127.0.0.1 PSEUDOLINK_HOME=$here

echo "== ruff check"
"$venv/bin/ruff" check .
echo "== ruff format --check"
"$venv/bin/ruff" format --check .
echo "== pytest"
set +e
"$venv/bin/python" -m pytest "$@"
status=$?
set -e
if [ $status -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit $status
