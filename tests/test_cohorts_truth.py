"""On the shared root: generate, ingest and build the populations, then match the
generator's truth exactly (the generator computed it from its own state, independently)."""

from __future__ import annotations

import json

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from roots import SHARED_PERSONS

TRUTH_SCHEMA = (
    "insz string, population int, role string, household_id string, "
    "valid_from int, valid_to int, end_reason string, end_quarter string"
)

pytestmark = pytest.mark.slow


def test_membership_matches_the_generator_truth(demo, spark):
    ctx, root, _, _ = demo
    truth = spark.read.csv(
        str(root / "truth" / "populations.csv"), sep=";", header=True, schema=TRUTH_SCHEMA
    )
    membership = spark.read.format("delta").load(ctx.catalog.population("membership"))
    assert truth.count() > SHARED_PERSONS // 10
    columns = [c for c in truth.columns if c != "end_quarter"]
    assert_df_equality(
        membership.select(*columns),
        truth.select(*columns),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    # The quarterly data end with the quarter of the event that ends the follow-up.
    windows = spark.read.format("delta").load(ctx.catalog.population("windows"))
    expected = truth.select(
        "insz",
        "population",
        F.coalesce("end_quarter", F.format_string("%dQ4", "valid_to")).alias("quarterly_to"),
    )
    assert_df_equality(
        windows.select("insz", "population", "quarterly_to"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert truth.filter(
        F.col("end_quarter").isNotNull() & ~F.col("end_quarter").endswith("Q4")
    ).count()


def test_clean_demo_deliveries_have_no_quarantined_row(demo):
    _, _, reports, _ = demo
    assert len(reports) == 3
    for report in reports:
        assert report.quarantined == {} and report.accepted == report.rows > 0


def test_population_sizes_are_reported(demo):
    _, _, _, sizes = demo
    assert sorted(sizes) == [2016, 2019, 2022]
    for counts in sizes.values():
        # about 8 % of the residents are index persons, as many again household members
        least = SHARED_PERSONS // 50
        assert counts["index"] > least and counts["members"] > least and counts["joiners"] > 0


def test_moves_and_windows_are_written(demo, spark):
    ctx, _, _, _ = demo
    moved = spark.read.format("delta").load(ctx.catalog.population("moves"))
    assert set(r["destination"] for r in moved.select("destination").distinct().collect()) == {
        "other_region",
        "abroad",
        "unknown",
    }
    windows = spark.read.format("delta").load(ctx.catalog.population("windows"))
    first = windows.groupBy("population").agg(F.min("retrospective_from").alias("m")).collect()
    assert {r["population"]: r["m"] for r in first} == {
        2016: "2013Q1",
        2019: "2016Q1",
        2022: "2019Q1",
    }


def test_extraction_request_lists_every_person_and_population(demo, spark):
    ctx, root, _, _ = demo
    folder = root / "outbox" / "requests" / ctx.config.cohorts.request_id
    manifest = json.loads((folder / "manifest.json").read_text())
    membership = spark.read.format("delta").load(ctx.catalog.population("membership"))
    for entry in manifest["files"]:
        lines = (folder / entry["name"]).read_text().splitlines()
        assert lines[0] == "insz;population;from_quarter;to_quarter"
        assert len(lines) - 1 == entry["rows"] == membership.count()
    assert sorted(p.name for p in folder.iterdir()) == [
        "ksz_request.csv",
        "manifest.json",
        "vdab_request.csv",
    ]
