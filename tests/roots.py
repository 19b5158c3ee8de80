"""Helpers for the tests that need a data root: the tiny config, a JobContext on the
suite's SparkSession, the shared root's type, and the pipeline run in-process."""

from __future__ import annotations

import argparse
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from shared import PASSPHRASE, RELEASE_ID

# The persons of the shared root: enough for every stage to have rows in every table and
# population, and for the release to pass its SCRA; small enough for a run in minutes.
SHARED_PERSONS = 2000

# Spark settings for tiny data, in the test session and in the config of the pipelines the
# tests start as processes (spark.extra). Measured on the shared root's pipeline up to the
# release, in-process, 2 000 persons, this 2-core machine (README, test section):
# - whole-stage code generation off: compiling the generated code costs more than it saves
#   on a few thousand rows (session 8: 423 s -> 383 s);
# - adaptive execution off: every shuffle of an adaptive plan is a Spark job of its own,
#   each paying the scheduling overhead (session 9: 1 280 jobs -> 745; 300 s with it on,
#   258 s and 308 s in two runs with it off: single runs here vary by up to 20 %, so the
#   time is not a firm figure, the job count is). With it off, Spark 4.2 plans a join on
#   a union of differently partitioned sides wrongly ("Can't zip RDDs with unequal
#   numbers of partitions: List(4, 2)" in tests/test_cohorts_rules.py):
#   spark.sql.unionOutputPartitioning off avoids that plan.
TINY_SPARK: dict[str, str] = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.unionOutputPartitioning": "false",
}
TINY_PARTITIONS = 2


def tiny_config(repo: Path, folder: Path, persons: int) -> Path:
    """A copy of conf/ (schemas and code lists beside it) whose generator makes ``persons``
    persons, with the tiny-data Spark settings. The YAML is edited parsed, not as text."""
    conf = folder / "conf"
    shutil.copytree(repo / "conf", conf)
    path = conf / "local.yaml"
    data = yaml.safe_load(path.read_text())
    data["generator"]["persons"] = persons
    data["spark"]["shuffle_partitions"] = TINY_PARTITIONS
    data["spark"]["extra"] = {**data["spark"].get("extra", {}), **TINY_SPARK}
    # A few hundred persons per population: the SCRA passes only by suppressing most of
    # the keys (the figures at scale come from the benchmark, not from the suite).
    data["release"] = {**data.get("release", {}), "max_suppressed_share": 1.0}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    from pseudolink.config import load_config

    loaded = load_config(path)
    assert loaded.generator.persons == persons
    assert loaded.spark.shuffle_partitions == TINY_PARTITIONS
    assert all(loaded.spark.extra[k] == v for k, v in TINY_SPARK.items())
    return path


def job_context(conf: Path, root: Path, spark, name: str = "pipeline", **args):
    """A JobContext on ``root`` with the suite's SparkSession (no second session)."""
    from pseudolink.cli import JobContext
    from pseudolink.config import load_config

    config = load_config(conf, root=str(root))
    ctx = JobContext(name, argparse.Namespace(**args), config, logging.getLogger("pseudolink"))
    ctx.__dict__["spark"] = spark
    return ctx


class Collect(logging.Handler):
    """Keeps the messages the jobs log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass
class SharedRoot:
    """The suite's one generated root, after ``pipeline.run(stop_after="release")``."""

    ctx: object  # JobContext on root
    root: Path
    conf: Path
    run: object  # pseudolink.stages.pipeline.PipelineRun
    log: str  # what the pipeline logged

    @property
    def release(self) -> Path:
        return self.root / "release" / RELEASE_ID

    def copy(self, target: Path, spark, name: str = "test"):
        """A copy of the root at ``target`` and a JobContext on it."""
        shutil.copytree(self.root, target, symlinks=True)
        return job_context(self.conf, target, spark, name, release_id=RELEASE_ID)


def run_pipeline_in_process(ctx, stop_after: str | None = None, logs: list | None = None):
    """pipeline.run with the suite's passphrase; (result, what it logged). ``logs`` gets
    the lines as they come (kept when the run raises)."""
    from pseudolink.stages import pipeline

    mp = pytest.MonkeyPatch()
    mp.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    collect = Collect()
    if logs is not None:
        collect.lines = logs
    logger = logging.getLogger("pseudolink")
    logger.addHandler(collect)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        result = pipeline.run(ctx, stop_after)
    finally:
        logger.removeHandler(collect)
        logger.setLevel(old_level)
        mp.undo()
    return result, "\n".join(collect.lines)
