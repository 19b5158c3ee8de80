"""One session-scoped SparkSession for the whole suite: local[2], 2 shuffle partitions,
UI off, Delta on; built by the project's own factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from shared import PASSPHRASE, RELEASE_ID

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PSEUDOLINK_HOME", str(REPO))


@pytest.fixture(scope="session")
def spark():
    from pseudolink.config import SparkSettings
    from pseudolink.session import build_spark

    session = build_spark(
        SparkSettings(app_name="pseudolink-tests", shuffle_partitions=2),
        master="local[2]",
        conf={"spark.ui.enabled": "false", "spark.default.parallelism": "2"},
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def demo(repo, spark, tmp_path_factory):
    """The demo scale (generator.persons, 20 000) generated, ingested and turned into
    populations once for the suite: (ctx, root, ingest reports, population sizes)."""
    import argparse
    import logging
    from dataclasses import replace

    from pseudolink.cli import JobContext
    from pseudolink.config import load_config
    from pseudolink.stages import cohorts, generate, ingest

    root = tmp_path_factory.mktemp("demo")
    config = load_config(repo / "conf" / "local.yaml", root=str(root))
    config = replace(config, generator=replace(config.generator, block_size=10_000))
    ctx = JobContext("pipeline", argparse.Namespace(), config, logging.getLogger("pseudolink"))
    ctx.__dict__["spark"] = spark
    generate.run(ctx)
    reports = ingest.run(ctx)
    sizes = cohorts.run(ctx)
    return ctx, root, reports, sizes


class Collect(logging.Handler):
    """Keeps the messages the jobs log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="session")
def pseudonymised(demo):
    """link and pseudonymise run once on the demo (with PASSPHRASE); their log is kept in
    ctx.test_log: (ctx, root, link reports, pseudonymise summary)."""
    from pseudolink.stages import link, pseudonymise

    ctx, root, _, _ = demo
    mp = pytest.MonkeyPatch()
    mp.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    collect = Collect()
    logger = logging.getLogger("pseudolink")  # what the jobs log
    logger.addHandler(collect)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        reports = link.run(ctx)
        summary = pseudonymise.run(ctx)
    finally:
        logger.removeHandler(collect)
        logger.setLevel(old_level)
        mp.undo()
    ctx.__dict__["test_log"] = "\n".join(collect.lines)
    return ctx, root, reports, summary


@pytest.fixture(scope="session")
def released(pseudonymised):
    """The demo's release RELEASE_ID, made once for the suite (test_release.py checks it;
    test_deliver.py packages a copy; the notebooks read it): (ctx, root, outcome, rules)."""
    from pseudolink.release.rules import load_rules
    from pseudolink.stages import release

    ctx, root, _, _ = pseudonymised
    outcome = release.run(ctx, RELEASE_ID)
    return ctx, root, outcome, load_rules(ctx.config.conf_dir)


SMALL_PERSONS = 200


@pytest.fixture(scope="session")
def small_reference(repo, spark, tmp_path_factory):
    """An uninterrupted in-process run of every stage at SMALL_PERSONS persons (the
    benchmark job at that scale, with its variants), on the config of small_config: the
    reference that the standalone cluster's run and the killed-and-rerun pipeline must
    match row for row. (ctx, root, conf file, benchmark results)."""
    import argparse
    import logging

    from standalone import small_config

    from pseudolink.cli import JobContext
    from pseudolink.config import load_config
    from pseudolink.stages import benchmark

    base = tmp_path_factory.mktemp("small")
    conf = small_config(repo, base, persons=SMALL_PERSONS)
    root = base / "reference"
    config = load_config(conf, root=str(root))
    ctx = JobContext("benchmark", argparse.Namespace(), config, logging.getLogger("pseudolink"))
    ctx.__dict__["spark"] = spark
    mp = pytest.MonkeyPatch()
    mp.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    try:
        results = benchmark.run(ctx, SMALL_PERSONS, variants=True)
    finally:
        mp.undo()
    return ctx, root, conf, results
