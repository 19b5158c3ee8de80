"""The populations over time: persons followed per year, who joined, who left and why, and
the moves out of the region (from ``trusted/populations``; counts only)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

ENDINGS = {
    "left_household": "left",
    "moved_other_region": "moved",
    "moved_abroad": "moved",
    "moved_unknown": "moved",
    "died": "died",
}


def follow_up_by_year(membership: DataFrame) -> DataFrame:
    """Per population and year: persons followed on 1 January (index persons and members),
    persons joining that year, and persons whose follow-up ends during the year (left the
    household, moved out of the region, died)."""
    years = membership.select(
        "population",
        "role",
        "valid_from",
        "valid_to",
        "end_reason",
        F.explode(F.sequence("valid_from", "valid_to")).alias("year"),
    )
    ending = F.create_map(*[x for k, v in ENDINGS.items() for x in (F.lit(k), F.lit(v))])
    ends_now = F.col("year") == F.col("valid_to")
    why = F.element_at(ending, F.coalesce(F.col("end_reason"), F.lit("")))
    counted = years.groupBy("population", "year").agg(
        F.count(F.lit(1)).alias("followed"),
        F.sum(F.when(F.col("role") == "index", 1).otherwise(0)).alias("index_persons"),
        F.sum(F.when(F.col("role") == "member", 1).otherwise(0)).alias("members"),
        F.sum(
            F.when(
                (F.col("year") == F.col("valid_from")) & (F.col("year") > F.col("population")), 1
            ).otherwise(0)
        ).alias("joined"),
        *[
            F.sum(F.when(ends_now & (why == F.lit(v)), 1).otherwise(0)).alias(v)
            for v in dict.fromkeys(ENDINGS.values())
        ],
    )
    return counted.orderBy("population", "year")


def moves_by_year(moves: DataFrame) -> DataFrame:
    """Moves out of the Flemish Region per population, year and destination."""
    return (
        moves.groupBy("population", "move_year", "destination")
        .agg(F.count(F.lit(1)).alias("persons"))
        .orderBy("population", "move_year", "destination")
    )
