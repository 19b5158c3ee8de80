"""Fault tolerance: the pipeline killed with SIGKILL inside ingest, link, pseudonymise and
the release, then run again, ends with exactly the release of an uninterrupted run (the
suite's small reference run): nothing counted twice, no sequence number changed, and the
half-written release is never complete (no manifest) while it is half-written."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest
from runs import (
    pipeline_command,
    release_differences,
    release_folder,
    run_env,
    run_pipeline,
    seed_keystore,
)

pytestmark = pytest.mark.slow

# Log lines that show the run is inside a stage; the run is killed when one appears.
KILL_AT = [
    ("ingest", re.compile(r"ingest: statbel-2025-01/\S+: \d+ rows")),
    ("link", re.compile(r"link: ksz/ksz_quarterly: [\d,]+ rows")),
    ("pseudonymise", re.compile(r"pseudonymise: persons: [\d,]+ identifiers")),
    ("release", re.compile(r"release: persons: [\d,]+ rows")),
]


def run_until(repo, root, conf, pattern: re.Pattern) -> list[str]:
    """Start the pipeline; SIGKILL its whole process group when ``pattern`` is logged."""
    proc = subprocess.Popen(
        pipeline_command(repo, root, conf),
        cwd=repo,
        env=run_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        for line in proc.stdout:
            seen.append(line.rstrip("\n"))
            if pattern.search(line):
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert pattern.search(seen[-1]), "the run ended before the kill point:\n" + "\n".join(
        seen[-30:]
    )
    return seen


def table(spark, root, path):
    return spark.read.format("delta").load(str(root / path))


def test_killed_four_times_then_rerun_equals_an_uninterrupted_run(
    repo, spark, tmp_path, small_reference
):
    _, reference, conf, _ = small_reference
    root = tmp_path / "root"
    seed_keystore(reference, root)
    logs = {}
    for stage, pattern in KILL_AT:
        logs[stage] = run_until(repo, root, conf, pattern)
        if stage == "release":
            # Half-written: the release folder has tables but no manifest, so no reader
            # takes it for a release.
            (folder,) = (root / "release").iterdir()
            assert (folder / "persons").exists() and not (folder / "manifest.json").exists()
    # Each rerun continued where the killed one stopped: finished stages were skipped.
    assert "ingest: ksz/ksz-2025-01 already ingested (ledger): skipped" in "\n".join(logs["link"])
    assert "pipeline: cohorts is up to date" in "\n".join(logs["pseudonymise"])
    assert "pipeline: link is up to date" in "\n".join(logs["release"])
    last = run_pipeline(repo, root, conf)
    output = last.stdout + last.stderr
    assert last.returncode == 0, output[-3000:]
    assert "pipeline: pseudonymise is up to date" in output
    assert "left by an interrupted run, replaced" in output
    # The final release holds exactly the rows of the uninterrupted run.
    assert release_differences(spark, release_folder(root), release_folder(reference)) == {}
    # No sequence number changed and none was given twice.
    for domain in ("persons", "households"):
        ours = table(spark, root, f"trusted/keys/{domain}").select("token", "seq")
        theirs = table(spark, reference, f"trusted/keys/{domain}").select("token", "seq")
        assert ours.exceptAll(theirs).count() == 0 and theirs.exceptAll(ours).count() == 0
    # Nothing counted twice: one ledger entry per delivery, the same ingest report.
    ledger = table(spark, root, "bronze/_ledger")
    assert ledger.count() == ledger.select("delivery_id").distinct().count() == 3
    columns = ["source", "delivery_id", "file", "manifest_rows", "accepted", "quarantined"]
    ours = table(spark, root, "bronze/_ingest_report").select(*columns)
    theirs = table(spark, reference, "bronze/_ingest_report").select(*columns)
    assert ours.exceptAll(theirs).count() == 0 and theirs.exceptAll(ours).count() == 0
    for kind in ("demobel", "census", "adi"):
        assert table(spark, root, f"bronze/statbel/{kind}").count() == (
            table(spark, reference, f"bronze/statbel/{kind}").count()
        )
    # Then the run purged the KSZ and VDAB data, as the reference run did, and delivered.
    for source in ("ksz", "vdab"):
        assert not (root / "bronze" / source).exists() and not (root / "inbox" / source).exists()
        assert not (reference / "bronze" / source).exists()
    assert "package:" in output
