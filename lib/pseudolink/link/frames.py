"""The link as DataFrame transformations: one pass over a bronze table gives the linked
rows (one per row and population it belongs to) and the counts of the linkage report.

A bronze row meets the populations through ``windows_by_person``: one row per INSZ with
the array of that person's windows (a person can be in several populations). A left join
on the INSZ keeps exactly one joined row per bronze row, so nothing can be multiplied or
lost there; the window test then gives per row its status:

- ``linked``: in the window of at least one population (one output row per such
  population);
- ``outside_window``: the person is in a population, the row in none of its windows;
- ``not_in_population``: the INSZ is in no population.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.link.rules import LinkRule

STATUSES = ("linked", "outside_window", "not_in_population")
LINEAGE = ("delivery_id", "source_file", "source_line", "ingest_time")


def windows_by_person(windows: DataFrame) -> DataFrame:
    """One row per INSZ: ``_windows``, an array of the person's population windows."""
    lookback = F.coalesce(
        F.concat(F.substring("activation_start_from", 1, 4), F.lit("Q1")), F.col("quarterly_from")
    )
    return windows.groupBy(F.col("insz").alias("_insz")).agg(
        F.collect_list(
            F.struct(
                F.col("population").cast("int").alias("population"),
                "quarterly_from",
                "quarterly_to",
                "retrospective_from",
                lookback.alias("lookback_from"),
            )
        ).alias("_windows")
    )


def with_population_status(
    bronze: DataFrame,
    people: DataFrame,
    rule: LinkRule,
    hint: str | None,
    hot: list[str] | None = None,
) -> DataFrame:
    """Each bronze row once, with ``_cands``: per population of the person, whether the
    row is in its window; and ``_status``. ``hint``: 'broadcast', 'merge' or None.

    ``hot``: INSZ with so many rows that one sort-merge task would get them all (a
    placeholder number, say). Their rows are joined apart, with a broadcast of their few
    windows, and the rest by the sort-merge join: the classic isolation of skewed keys."""
    if hot and hint == "merge":
        is_hot = F.col("insz").isin(hot)
        cold = with_population_status(bronze.filter(~is_hot), people, rule, "merge")
        hot_people = people.filter(F.col("_insz").isin(hot))
        heavy = with_population_status(bronze.filter(is_hot), hot_people, rule, "broadcast")
        return cold.unionByName(heavy)
    right = people.hint(hint) if hint else people
    joined = bronze.join(right, bronze["insz"] == right["_insz"], "left").drop("_insz")
    cands = F.transform(
        F.coalesce(F.col("_windows"), F.array()),
        lambda w: F.struct(
            w["population"].alias("population"), rule.in_window(w).alias("in_window")
        ),
    )
    with_cands = joined.withColumn("_cands", cands).drop("_windows")
    any_in = F.exists("_cands", lambda c: c["in_window"])
    status = (
        F.when(F.size("_cands") == 0, F.lit("not_in_population"))
        .when(any_in, F.lit("linked"))
        .otherwise(F.lit("outside_window"))
    )
    return with_cands.withColumn("_status", status)


def exploded(statused: DataFrame) -> DataFrame:
    """One row per (bronze row, candidate population), or one with a null population for a
    person in none; ``_first`` marks one row per bronze row (for row-level counts)."""
    return statused.select("*", F.posexplode_outer("_cands").alias("_pos", "_cand")).select(
        *[c for c in statused.columns if c != "_cands"],
        F.col("_cand.population").alias("_population"),
        F.coalesce(F.col("_cand.in_window"), F.lit(False)).alias("_in_window"),
        F.coalesce(F.col("_pos") == 0, F.lit(True)).alias("_first"),
    )


def linked_rows(rows: DataFrame, columns: list[str]) -> DataFrame:
    """The linked rows: the bronze columns, the population, the period."""
    return rows.filter(F.col("_in_window")).select(
        F.col("_population").alias("population"), *columns
    )


def report_counts(rows: DataFrame) -> DataFrame:
    """The one aggregation of the report: per period, population (null: in none),
    in-window flag, row status and first flag, the number of rows."""
    return rows.groupBy("period", "_population", "_in_window", "_status", "_first").agg(
        F.count(F.lit(1)).alias("rows")
    )
