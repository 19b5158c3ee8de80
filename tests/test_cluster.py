"""The pipeline job submitted through ./spark-submit.sh to a real standalone cluster (a
master and two workers on 127.0.0.1), killed with SIGKILL inside the release and run
again: its release holds exactly the rows of the same pipeline run locally, in-process
(the suite's shared root: same config, deliveries and keystore).

One test proves both system-level properties, so the cluster and its two long runs are
paid for once:
- the stages run on executors of a real cluster (link, pseudonymise with its HMAC pads in
  the plan, the release with its SCRA, deliver and purge; the self-check's Delta table is
  written by the executors at every start) and give the local run's release;
- a real SIGKILL of the whole ``spark-submit`` process group (no Python clean-up runs,
  the root's lock is freed by the kernel) inside the release, then a rerun, gives the
  uninterrupted release; the half-written release has no manifest.

Generate, ingest and cohorts are not redone on the cluster: the copy keeps the shared
root's (their in-process runs are checked in tests/test_ingest_*.py, test_cohorts*.py and
the crash chain of tests/test_faults.py)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from runs import (
    open_release,
    pipeline_command,
    release_differences,
    release_folder,
    run_pipeline,
    run_until,
)
from shared import RELEASE_ID
from standalone import StandaloneCluster

from pseudolink.selfcheck import SELFCHECK_ROWS, checksum, selfcheck_frame

pytestmark = pytest.mark.system

# A guard against a hang, not against slowness: sized from the measured run (README, test
# section) with a wide margin.
TIMEOUT = 2400
# The log line that shows the run is inside the release (a table written, no manifest).
KILL_AT = re.compile(r"release: persons: [\d,]+ rows")
# The stages the copy redoes on the cluster: their markers and outputs are removed.
REDONE = ("link", "pseudonymise", "release")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = StandaloneCluster(tmp_path_factory.mktemp("cluster"), workers=2).start()
    yield c
    c.stop()
    assert all(p.poll() is not None for p in c.procs), "a cluster process outlived stop()"


def from_link(shared, root):
    """A copy of the shared root whose link, pseudonymise and release are to be redone
    (the key tables stay: the sequence numbers are the reference's)."""
    shutil.copytree(shared.root, root, symlinks=True)
    for stage in REDONE:
        (root / "trusted" / "_stages" / f"{stage}.json").unlink()
    for folder in ("trusted/linked", "trusted/pseudonymised", "release"):
        shutil.rmtree(root / folder)


def test_on_a_cluster_killed_inside_the_release_then_rerun_equals_the_local_release(
    cluster, repo, spark, tmp_path, shared
):
    root = tmp_path / "root"
    from_link(shared, root)
    on_cluster = [
        "--master",
        cluster.url,
        "--release-id",
        RELEASE_ID,
        "--",
        "--executor-memory",
        "512m",
        "--total-executor-cores",
        "2",
    ]
    seen = run_until(pipeline_command(repo, root, shared.conf, *on_cluster), repo, KILL_AT)
    killed = "\n".join(seen)
    assert f"master {cluster.url}" in killed
    assert "pipeline: cohorts is up to date" in killed
    assert "link: ksz/ksz_quarterly: " in killed
    folder = root / "release" / RELEASE_ID
    assert (folder / "persons").exists() and not (folder / "manifest.json").exists()

    last = run_pipeline(repo, root, shared.conf, *on_cluster, timeout=TIMEOUT)
    # spark-submit hands the Python driver's stderr to stdout: read both.
    output = last.stdout + last.stderr
    assert last.returncode == 0, output[-3000:]
    assert f"master {cluster.url}" in output
    assert "pipeline: pseudonymise is up to date" in output
    assert "pipeline: link ksz/ksz_quarterly: " in output  # the summary of the marked stage
    assert "left by an interrupted run, replaced" in output
    assert "SCRA verdict:   PASS" in output and "pipeline: done" in output
    # The same rows as the local run, in every released table: read from the package
    # (deliver packaged the release, then purge destroyed its plaintext tables).
    released = release_folder(root)
    assert set(json.loads((released / "manifest.json").read_text())["tables"]) >= {
        "persons",
        "demobel",
        "ksz",
    }
    assert not (released / "ksz").exists()
    opened = open_release(root, tmp_path / "opened")
    assert release_differences(spark, opened, shared.release) == {}
    # The pseudonymised tables were rebuilt there: every member, no INSZ.
    pseudonymised = spark.read.format("delta").load(str(root / "trusted/pseudonymised/populations"))
    membership = spark.read.format("delta").load(str(root / "trusted/populations/membership"))
    assert pseudonymised.count() == membership.count()
    assert "insz" not in pseudonymised.columns and "person_seq" in pseudonymised.columns
    # It put the researcher's package in the outbox, then purged KSZ's and VDAB's data.
    assert not (root / "inbox" / "ksz").exists() and not (root / "bronze" / "ksz").exists()
    assert json.loads((root / "trusted" / "purge.json").read_text())["state"] == "done"
    assert (root / "outbox" / released.name / "package.json").exists() and "package:" in output
    # The executors wrote the self-check's table, and read back it is the driver's frame.
    table = root / "_runtime" / "selfcheck"
    assert f"Delta table {table.as_uri()}" in output
    back = spark.read.format("delta").load(str(table))
    assert back.count() == SELFCHECK_ROWS
    assert checksum(back) == checksum(selfcheck_frame(spark))
    # Both workers ran executors for both applications (the killed one and the rerun).
    for i in range(2):
        assert len(list((cluster.workdir / f"work{i}").glob("app-*"))) == 2
