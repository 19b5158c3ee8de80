"""The pipeline job submitted through ./spark-submit.sh to a real standalone cluster: it
runs every stage on the executors, and its release holds exactly the rows of the same
pipeline run locally (the suite's shared root: same config, deliveries and keystore)."""

from __future__ import annotations

import json
import subprocess

import pytest
from runs import release_differences, release_folder, run_env, seed_keystore
from shared import RELEASE_ID
from standalone import StandaloneCluster

from pseudolink.selfcheck import SELFCHECK_ROWS, checksum, selfcheck_frame

pytestmark = pytest.mark.system

# A guard against a hang, not against slowness: the run took 673 s on this 2-core machine
# from a fresh clone (session 8, README test section); four times that.
TIMEOUT = 2700


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = StandaloneCluster(tmp_path_factory.mktemp("cluster"), workers=2).start()
    yield c
    c.stop()
    assert all(p.poll() is not None for p in c.procs), "a cluster process outlived stop()"


def test_pipeline_runs_on_standalone_cluster(cluster, repo, spark, tmp_path, shared):
    reference, conf = shared.root, shared.conf
    root = tmp_path / "root"
    seed_keystore(reference, root)
    env = run_env()
    result = subprocess.run(
        [
            str(repo / "spark-submit.sh"),
            "pipeline",
            "--master",
            cluster.url,
            "--root",
            str(root),
            "--conf",
            str(conf),
            "--release-id",
            RELEASE_ID,
            "--",
            "--executor-memory",
            "512m",
            "--total-executor-cores",
            "2",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    # spark-submit hands the Python driver's stderr to stdout: read both.
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert f"master {cluster.url}" in output
    table = root / "_runtime" / "selfcheck"
    assert f"Delta table {table.as_uri()}" in output
    assert "pipeline: done" in output and "pipeline: population 2016: index" in output
    # The generate stage ran on the executors and wrote every source's delivery; purge
    # then destroyed KSZ's and VDAB's (their ingest reports, counts only, remain).
    (manifest,) = (root / "inbox" / "statbel").glob("*/manifest.json")
    assert all(
        (manifest.parent / f["name"]).stat().st_size > 0
        for f in json.loads(manifest.read_text())["files"]
    )
    assert {p.stem.split("-")[0] for p in (root / "bronze" / "_reports").glob("*.json")} >= {
        "statbel",
        "ksz",
        "vdab",
    }
    assert not (root / "inbox" / "ksz").exists() and not (root / "bronze" / "ksz").exists()
    assert json.loads((root / "trusted" / "purge.json").read_text())["state"] == "done"
    # Ingest and cohorts ran there too: bronze tables and the populations exist.
    assert spark.read.format("delta").load(str(root / "bronze" / "statbel" / "demobel")).count()
    membership = spark.read.format("delta").load(str(root / "trusted/populations/membership"))
    assert membership.filter("role = 'index'").count() > 0
    assert "pipeline: link ksz/ksz_quarterly" in output
    pseudonymised = spark.read.format("delta").load(str(root / "trusted/pseudonymised/populations"))
    assert pseudonymised.count() == membership.count()
    assert "insz" not in pseudonymised.columns and "person_seq" in pseudonymised.columns
    # The release ran there too and passed its SCRA.
    assert "SCRA verdict:   PASS" in output
    released = release_folder(root)
    manifest = released / "manifest.json"
    assert set(json.loads(manifest.read_text())["tables"]) >= {"persons", "demobel", "ksz"}
    # The same rows as the local run, in every released table.
    assert release_differences(spark, released, shared.release) == {}
    # ... and the encrypted package for the demo researcher is in the outbox.
    rid = released.name
    assert (root / "outbox" / rid / "package.json").exists() and "package:" in output
    back = spark.read.format("delta").load(str(table))
    assert back.count() == SELFCHECK_ROWS
    assert checksum(back) == checksum(selfcheck_frame(spark))
    # Both workers ran executors for the application.
    apps = [d for i in range(2) for d in (cluster.workdir / f"work{i}").glob("app-*")]
    assert len(apps) == 2, apps
