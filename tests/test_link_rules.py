"""Hand-built cases for the window rules and the linkage counts."""

from __future__ import annotations

from pyspark.sql import functions as F

from pseudolink.link.frames import (
    exploded,
    linked_rows,
    report_counts,
    windows_by_person,
    with_population_status,
)
from pseudolink.link.report import build_report, reconcile
from pseudolink.link.rules import RULES
from pseudolink.stages.link import join_plan

WINDOWS = (
    "insz string, population int, role string, household_id string, quarterly_from string, "
    "quarterly_to string, retrospective_from string, activation_start_from string"
)
# A: index person of 2016 followed to 2024, and a joiner of 2019 (from 2020) to 2021.
# B: member of 2022 followed 2022-2023.
WINDOW_ROWS = [
    ("A", 2016, "index", "h1", "2016Q1", "2024Q4", "2013Q1", "2013-01"),
    ("A", 2019, "member", "h2", "2020Q1", "2021Q4", "2020Q1", None),
    ("B", 2022, "member", "h3", "2022Q1", "2023Q4", "2019Q1", "2019-01"),
]


def rule(kind):
    return next(r for r in RULES if r.kind == kind)


def link(spark, kind, bronze, hint=None):
    people = windows_by_person(spark.createDataFrame(WINDOW_ROWS, WINDOWS))
    rows = exploded(with_population_status(bronze, people, rule(kind), hint))
    linked = linked_rows(rows, [c for c in bronze.columns])
    return rows, linked


def pairs(linked, *cols):
    return sorted(tuple(r) for r in linked.select("insz", "population", *cols).collect())


def test_ksz_rows_use_the_retrospective_window(spark):
    bronze = spark.createDataFrame(
        [
            ("A", "2012Q4", "2012"),  # before 2013Q1: outside
            ("A", "2013Q1", "2013"),  # retrospective start of 2016: linked to 2016 only
            ("A", "2020Q2", "2020"),  # in both of A's windows
            ("A", "2022Q1", "2022"),  # 2016 only (2019's follow-up ended in 2021)
            ("B", "2019Q1", "2019"),  # retrospective start of 2022
            ("B", "2024Q1", "2024"),  # after B's follow-up: outside
            ("C", "2020Q1", "2020"),  # in no population
        ],
        "insz string, quarter string, period string",
    )
    rows, linked = link(spark, "ksz_quarterly", bronze)
    assert pairs(linked, "quarter") == [
        ("A", 2016, "2013Q1"),
        ("A", 2016, "2020Q2"),
        ("A", 2016, "2022Q1"),
        ("A", 2019, "2020Q2"),
        ("B", 2022, "2019Q1"),
    ]
    report = build_report("ksz", "ksz_quarterly", report_counts(rows).collect(), bronze.count())
    assert report.totals == {"linked": 4, "outside_window": 2, "not_in_population": 1}
    assert report.linked_rows == 5
    reconcile(report, linked.count())
    cell = {(c.population, c.period): c for c in report.rows}
    assert (cell[("2016", "2020")].rows_in, cell[("2016", "2020")].linked) == (1, 1)
    assert cell[("2019", "2022")].outside_window == 1  # A in 2022 for population 2019
    assert cell[("none", "2020")].not_in_population == 1
    assert cell[("2022", "2024")].linkage_rate == 0.0


def test_vdab_quarterly_uses_the_follow_up_window_only(spark):
    bronze = spark.createDataFrame(
        [("A", "2015Q4", "2015"), ("A", "2016Q1", "2016"), ("A", "2021Q4", "2021")],
        "insz string, quarter string, period string",
    )
    _, linked = link(spark, "vdab_quarterly", bronze)
    assert pairs(linked, "quarter") == [
        ("A", 2016, "2016Q1"),
        ("A", 2016, "2021Q4"),
        ("A", 2019, "2021Q4"),
    ]


def test_activation_actions_running_at_the_reference_date_go_back_three_years(spark):
    bronze = spark.createDataFrame(
        [
            ("A", "a1", "2013-02-01", None),  # started in the lookback, still running
            ("A", "a2", "2012-12-01", "2016-06-30"),  # started before the lookback
            ("A", "a3", "2014-01-01", "2015-12-31"),  # ended before the follow-up
            ("A", "a4", "2021-05-01", "2021-09-30"),  # both populations of A
        ],
        "insz string, action_id string, start_date string, end_date string",
    ).select(
        "insz",
        "action_id",
        F.to_date("start_date").alias("start_date"),
        F.to_date("end_date").alias("end_date"),
        F.year(F.to_date("start_date")).cast("string").alias("period"),
    )
    _, linked = link(spark, "vdab_activation", bronze)
    assert pairs(linked, "action_id") == [("A", 2016, "a1"), ("A", 2016, "a4"), ("A", 2019, "a4")]


def test_annual_statbel_rows_link_on_the_years_followed(spark):
    bronze = spark.createDataFrame(
        [("A", 2019, "2019"), ("A", 2020, "2020"), ("B", 2021, "2021"), ("B", 2023, "2023")],
        "insz string, year int, period string",
    )
    _, linked = link(spark, "census", bronze)
    assert pairs(linked, "year") == [
        ("A", 2016, 2019),
        ("A", 2016, 2020),
        ("A", 2019, 2020),  # the joiner of 2019 is followed from 2020
        ("B", 2022, 2023),
    ]


def test_join_strategy_follows_the_hint(spark):
    bronze = spark.createDataFrame(
        [("A", "2016Q1", "2016")], "insz string, quarter string, period string"
    )

    _, broadcast = link(spark, "ksz_quarterly", bronze, "broadcast")
    _, merge = link(spark, "ksz_quarterly", bronze, "merge")
    assert "BroadcastHashJoin" in join_plan(broadcast)
    assert "SortMergeJoin" in join_plan(merge)
    assert broadcast.count() == merge.count() == 1


def test_a_skewed_insz_is_joined_apart_from_the_sort_merge_join(spark):
    """Many rows for one INSZ: with the skew guard its rows go through a broadcast join,
    the rest through the sort-merge join, and the counts stay exact."""
    skewed = spark.range(20000).select(
        F.when(F.col("id") < 19000, F.lit("A")).otherwise(F.lit("B")).alias("insz"),
        F.lit("2020Q1").alias("quarter"),
        F.lit("2020").alias("period"),
    )
    from pseudolink.stages.link import hot_keys

    hot = hot_keys(skewed, 5000)
    assert hot == ["A"]
    people = windows_by_person(spark.createDataFrame(WINDOW_ROWS, WINDOWS))
    rows = exploded(with_population_status(skewed, people, rule("ksz_quarterly"), "merge", hot))
    linked = linked_rows(rows, skewed.columns)
    plan = join_plan(linked)
    assert "SortMergeJoin" in plan and "BroadcastHashJoin" in plan
    assert linked.count() == 19000 * 2 + 1000  # A: populations 2016 and 2019; B: 2022
    report = build_report("ksz", "k", report_counts(rows).collect(), skewed.count())
    assert report.totals == {"linked": 20000}
