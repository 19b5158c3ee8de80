"""Fault tolerance: a pipeline that dies inside a stage and is run again ends with exactly
the release of an uninterrupted run (the shared root's): nothing counted twice, no
sequence number changed, and a half-written release is never complete (no manifest).

- In-process: on one root, the pipeline crashes right after a write inside ingest, link,
  pseudonymise and the release (a Delta write lands, then the process "dies"), each
  time run again from where the last one stopped; a last run goes to the end.
- The kernel-level case (a real SIGKILL of a ``./spark-submit.sh pipeline`` process group
  inside the release, then a rerun) runs on the standalone cluster: tests/test_cluster.py.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import replace

import pytest
from pyspark.sql.readwriter import DataFrameWriter
from roots import job_context, run_pipeline_in_process
from runs import open_release, release_differences, seed_keystore
from shared import RELEASE_ID

from pseudolink.stages import pipeline
from pseudolink.storage import HadoopFs


class Crash(Exception):
    """Stands for the process dying."""


# Per stage: the write after which the run "dies" (a part of the path written).
CRASH_AFTER = [
    ("ingest", "/bronze/statbel/"),  # KSZ's delivery is complete, Statbel's half-written
    ("link", "/trusted/linked/ksz/"),  # the first linked table
    ("pseudonymise", "/trusted/pseudonymised/"),  # the key tables and one table
    ("release", f"/release/{RELEASE_ID}/"),  # one released table, no manifest
]


@contextmanager
def crash_inside(monkeypatch, stage: str, where: str):
    """Make the pipeline raise Crash right after the first Delta write under ``where``
    while ``stage`` runs; the write itself completes. From then on the "dead" process
    deletes nothing: the stage's own clean-up on an error (which a killed process never
    gets to) leaves what was written, as a SIGKILL would."""
    active = {"on": False, "hit": False}
    save, delete = DataFrameWriter.save, HadoopFs.delete

    def dying_save(self, path=None, *args, **kwargs):
        save(self, path, *args, **kwargs)
        if active["on"] and path and where in str(path):
            active["hit"] = True
            raise Crash(f"died inside {stage} after writing {path}")

    def dead_delete(self, uri):
        if not active["hit"]:
            delete(self, uri)

    def wrap(step):
        def inside(*args):
            active["on"] = True
            try:
                return step(*args)
            finally:
                active["on"] = False

        return inside

    stages = tuple(replace(s, step=wrap(s.step)) if s.name == stage else s for s in pipeline.STAGES)
    with monkeypatch.context() as mp:
        mp.setattr(DataFrameWriter, "save", dying_save)
        mp.setattr(HadoopFs, "delete", dead_delete)
        mp.setattr(pipeline, "STAGES", stages)
        yield active
    assert active["hit"], f"no write under {where} inside {stage}"


def table(spark, root, path):
    return spark.read.format("delta").load(str(root / path))


def same_rows(spark, ours, theirs, columns=None) -> bool:
    a, b = spark.read.format("delta").load(str(ours)), spark.read.format("delta").load(str(theirs))
    columns = columns or a.columns
    a, b = a.select(*columns), b.select(*columns)
    return a.exceptAll(b).count() == 0 and b.exceptAll(a).count() == 0


def fresh_root(shared, tmp_path):
    """The shared root's deliveries and keystore in an empty root (same secret: same
    tokens and numbers)."""
    root = tmp_path / "root"
    shutil.copytree(shared.root / "inbox", root / "inbox")
    seed_keystore(shared.root, root)
    return root


def test_crashed_inside_four_stages_then_rerun_equals_an_uninterrupted_run(
    shared, spark, tmp_path, monkeypatch
):
    root = fresh_root(shared, tmp_path)
    logs = {}
    for stage, where in CRASH_AFTER:
        ctx = job_context(shared.conf, root, spark, release_id=RELEASE_ID)
        with crash_inside(monkeypatch, stage, where), pytest.raises(Crash):
            run_pipeline_in_process(ctx, logs=logs.setdefault(stage, []))
        if stage == "release":
            # Half-written: the release folder has a table but no manifest, so no reader
            # takes it for a release.
            folder = root / "release" / RELEASE_ID
            assert any(folder.iterdir()) and not (folder / "manifest.json").exists()
    # Each rerun continued where the crashed one stopped: finished stages were skipped.
    assert "ingest: ksz/ksz-2025-01 already ingested (ledger): skipped" in "\n".join(logs["link"])
    assert "pipeline: cohorts is up to date" in "\n".join(logs["pseudonymise"])
    assert "pipeline: link is up to date" in "\n".join(logs["release"])
    ctx = job_context(shared.conf, root, spark, release_id=RELEASE_ID)
    done, log = run_pipeline_in_process(ctx)
    assert "pipeline: pseudonymise is up to date" in log
    assert "left by an interrupted run, replaced" in log
    assert done.ran == ["selfcheck", "ingest", "release", "deliver", "purge"]
    # The final release holds exactly the rows of the uninterrupted run: read from its
    # package (purge destroyed the plaintext copy after deliver had packaged it).
    opened = open_release(root, tmp_path / "opened")
    assert release_differences(spark, opened, shared.release) == {}
    # No sequence number changed and none was given twice.
    for domain in ("persons", "households"):
        ours, theirs = root / f"trusted/keys/{domain}", shared.root / f"trusted/keys/{domain}"
        assert same_rows(spark, ours, theirs, ["token", "seq"])
    # Nothing counted twice: one ledger entry per delivery, the same ingest report.
    ledger = table(spark, root, "bronze/_ledger")
    assert ledger.count() == ledger.select("delivery_id").distinct().count() == 3
    columns = ["source", "delivery_id", "file", "manifest_rows", "accepted", "quarantined"]
    report = "bronze/_ingest_report"
    assert same_rows(spark, root / report, shared.root / report, columns)
    for kind in ("demobel", "census", "adi"):
        path = f"bronze/statbel/{kind}"
        assert same_rows(spark, root / path, shared.root / path, ["insz", "period"])
    # Then the run delivered, and purged the KSZ and VDAB data and the plaintext release.
    for source in ("ksz", "vdab"):
        assert not (root / "bronze" / source).exists() and not (root / "inbox" / source).exists()
    assert not (root / "trusted" / "pseudonymised" / "ksz_quarterly").exists()
    assert not (root / "release" / RELEASE_ID / "ksz").exists()
    assert (root / "outbox" / RELEASE_ID / "package.json").exists()
