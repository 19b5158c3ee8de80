#!/usr/bin/env bash
# The test command: set-up (first run only), ruff check, ruff format --check, pytest.
# Arguments go to pytest (e.g. scripts/run-tests.sh -k config -x).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
"$here/scripts/bootstrap.sh"
venv=${PSEUDOLINK_VENV:-$here/.venv}
export SPARK_LOCAL_IP=127.0.0.1 PSEUDOLINK_HOME=$here

# The SFTP tests run a real OpenSSH server (Debian's openssh-server); installed once.
if [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "== installing openssh-server (the SFTP tests' server)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null &&
      apt-get install -y -qq --no-install-recommends openssh-server >/dev/null ||
      { echo "could not install openssh-server (apt-get failed)" >&2; exit 1; }
  else
    echo "warning: no /usr/sbin/sshd and no root apt-get to install it: SFTP tests skipped" >&2
  fi
fi

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
