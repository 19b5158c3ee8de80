"""The generator's --inject-faults deliveries, ingested: exactly the known bad rows are
quarantined, each for its reason, and the file-level faults get their clear outcome."""

from __future__ import annotations

import argparse
import csv
import logging
from collections import Counter
from dataclasses import replace

import pytest
from pyspark.sql import functions as F

from pseudolink.catalog import QUARANTINE
from pseudolink.cli import JobContext
from pseudolink.config import load_config
from pseudolink.errors import InputError
from pseudolink.stages import generate, ingest

REASON = {
    "bad_insz": "BAD_INSZ",
    "bad_column_count": "BAD_COLUMN_COUNT",
    "unknown_code": "UNKNOWN_CODE",
    "bad_date": "BAD_DATE",
    "duplicate_row": "DUPLICATE_KEY",
    "latin1_bytes": "BAD_ENCODING",
}


@pytest.fixture(scope="module")
def faulty(repo, spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    config = load_config(repo / "conf" / "local.yaml", root=str(root))
    config = replace(config, generator=replace(config.generator, persons=800, block_size=500))
    ctx = JobContext("ingest", argparse.Namespace(), config, logging.getLogger("pseudolink"))
    ctx.__dict__["spark"] = spark
    generate.run(ctx, inject_faults=True)
    with (root / "truth" / "faults.csv").open(newline="") as handle:
        faults = list(csv.DictReader(handle, delimiter=";"))
    return ctx, root, faults


def quarantined(ctx, spark):
    table = spark.read.format("delta").load(f"{ctx.config.zone('bronze')}/{QUARANTINE}")
    return [
        (r["delivery_id"], r["file"].rsplit("/", 1)[-1], int(r["line"]), r["reason"])
        for r in table.select("delivery_id", "file", "line", "reason").collect()
    ]


def test_row_faults_are_quarantined_exactly(faulty, spark):
    ctx, _, faults = faulty
    reports = []
    for delivery in ctx.config.generator.deliveries.values():
        reports += ingest.run(ctx, delivery)
    expected = sorted(
        (f["delivery_id"], f["file"], int(f["line"]), REASON[f["kind"]])
        for f in faults
        if f["delivery_id"].endswith("-01")
    )
    assert len(expected) == 20
    assert sorted(quarantined(ctx, spark)) == expected
    by_reason = Counter()
    for report in reports:
        by_reason.update(report.quarantined)
        assert report.rows == report.accepted + sum(report.quarantined.values())
    assert by_reason == Counter(r for *_, r in expected)


def test_latin1_file_lines_are_quarantined_as_bad_encoding(faulty, spark):
    ctx, _, faults = faulty
    delivery = next(f["delivery_id"] for f in faults if f["kind"] == "latin1_bytes")
    (report,) = ingest.run(ctx, delivery)
    lines = sorted(int(f["line"]) for f in faults if f["kind"] == "latin1_bytes")
    found = sorted(
        line
        for d, _, line, reason in quarantined(ctx, spark)
        if d == delivery and reason == "BAD_ENCODING"
    )
    assert found == lines
    assert report.quarantined == {"BAD_ENCODING": 3}


def test_truncated_gzip_rejects_its_delivery_with_a_clear_error(faulty, spark):
    ctx, root, faults = faulty
    (fault,) = [f for f in faults if f["kind"] == "truncated_gzip"]
    with pytest.raises(InputError) as info:
        ingest.run(ctx, fault["delivery_id"])
    assert fault["file"] in str(info.value)
    ledger = spark.read.format("delta").load(f"{ctx.config.zone('bronze')}/_ledger")
    assert ledger.filter(F.col("delivery_id") == fault["delivery_id"]).count() == 0
