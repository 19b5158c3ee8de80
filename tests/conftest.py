"""The suite's shared fixtures.

- ``spark``: one session-scoped SparkSession for the whole suite, built by the project's
  own factory: local[2], two shuffle partitions and the settings for tiny data of
  :data:`TINY_SPARK` (each measured: see the README's test section), UI off, Delta on.
- ``shared``: ONE generated data root for the suite. SHARED_PERSONS persons are generated
  and the pipeline runs once, in-process, up to the release (``stop_after="release"``),
  on a copy of conf/ made for that scale (:func:`tiny_config`). The cohorts, pseudonymise,
  release, notebook, benchmark, fault and cluster tests read it or copies of it; a test
  that changes a root (keys, purge, deliver, a rerun) works on a copy (``shared.copy``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from roots import (
    SHARED_PERSONS,
    TINY_PARTITIONS,
    TINY_SPARK,
    SharedRoot,
    job_context,
    run_pipeline_in_process,
    tiny_config,
)
from shared import RELEASE_ID

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PSEUDOLINK_HOME", str(REPO))


@pytest.fixture(scope="session")
def spark():
    from pseudolink.config import SparkSettings
    from pseudolink.session import build_spark

    session = build_spark(
        SparkSettings(app_name="pseudolink-tests", shuffle_partitions=TINY_PARTITIONS),
        master="local[2]",
        conf={"spark.ui.enabled": "false", "spark.default.parallelism": "2", **TINY_SPARK},
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared(repo, spark, tmp_path_factory) -> SharedRoot:
    base = tmp_path_factory.mktemp("shared")
    conf = tiny_config(repo, base, SHARED_PERSONS)
    root = base / "root"
    ctx = job_context(conf, root, spark, release_id=RELEASE_ID)
    result, log = run_pipeline_in_process(ctx, stop_after="release")
    assert result.stopped_after == "release" and result.verdict == "pass"
    return SharedRoot(ctx, root, conf, result, log)


@pytest.fixture(scope="session")
def demo(shared):
    """The populations of the shared root: (ctx, root, ingest reports, population sizes)."""
    return shared.ctx, shared.root, shared.run.ingest, shared.run.markers["cohorts"].extra["sizes"]


@pytest.fixture(scope="session")
def released(shared):
    """The shared root's release RELEASE_ID (test_release.py checks it; test_deliver.py
    packages a copy; the notebooks read it): (ctx, root, outcome, rules), the outcome read
    back from the release's manifest and SCRA summary."""
    from pseudolink.release.rules import load_rules
    from pseudolink.stages.release import ReleaseOutcome

    marker = shared.run.markers["release"]
    folder = shared.release
    manifest = json.loads((folder / "manifest.json").read_text())
    outcome = ReleaseOutcome(
        RELEASE_ID,
        marker.extra["folder"],
        marker.extra["verdict"],
        marker.extra["report"],
        tables={name: t["rows"] for name, t in manifest["tables"].items()},
        scra=json.loads((folder / "scra" / "scra.json").read_text()),
    )
    return shared.ctx, shared.root, outcome, load_rules(shared.ctx.config.conf_dir)
