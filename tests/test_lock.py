"""The data root's lock: a second job on the same root is refused with a clear message,
and a holder killed with SIGKILL leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pseudolink.lock import LOCK_FILE, RootBusy, root_lock

HOLD = textwrap.dedent(
    """
    import sys, time
    from pseudolink.lock import root_lock
    with root_lock(sys.argv[1], "pipeline"):
        print("held", flush=True)
        time.sleep(120)
    """
)


def _holder(root, repo) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(repo / "lib")}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_job_on_a_held_root_is_refused_by_name(tmp_path, repo):
    holder = _holder(tmp_path, repo)
    try:
        with pytest.raises(RootBusy) as refused, root_lock(str(tmp_path), "release"):
            pass
        message = str(refused.value)
        assert f"job 'pipeline' (process {holder.pid}" in message
        assert "refused to start a second job" in message and str(tmp_path) in message
    finally:
        holder.kill()
        holder.wait()


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path, repo):
    holder = _holder(tmp_path, repo)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with root_lock(str(tmp_path), "pipeline") as path:
        assert path == (tmp_path / LOCK_FILE).resolve()
        assert '"job": "pipeline"' in path.read_text()
    assert path.read_text() == ""  # released: the holder's line is cleared


def test_the_lock_is_reentrant_within_a_process_and_skipped_for_remote_roots(tmp_path):
    with root_lock(f"file://{tmp_path}", "pipeline"), root_lock(str(tmp_path), "ingest"):
        assert str(os.getpid()) in (tmp_path / LOCK_FILE).read_text()
    with root_lock("hdfs://namenode/pseudolink", "pipeline") as path:
        assert path is None


def test_two_pipeline_jobs_on_one_root_the_second_is_refused(tmp_path, repo):
    """Through ./spark-submit.sh: the second run exits 2 naming the first; the first goes
    on (it is stopped here by its process group, as an operator would)."""
    root = tmp_path / "root"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    first = subprocess.Popen(
        [str(repo / "spark-submit.sh"), "pipeline", "--root", str(root)],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        lock = root / LOCK_FILE
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lock.read_text(), "the first job never took the lock"
        second = subprocess.run(
            [str(repo / "spark-submit.sh"), "pipeline", "--root", str(root)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = second.stdout + second.stderr
        assert second.returncode == 2, output[-2000:]
        assert "in use by the job 'pipeline'" in output and "Traceback" not in output
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
