"""Moves out of the region, observation windows, and the extraction request rows."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.config import CohortSettings

MOVE_CLASSES = {
    "moved_other_region": "other_region",
    "moved_abroad": "abroad",
    "moved_unknown": "unknown",
}


def moves(membership: DataFrame) -> DataFrame:
    """Persons whose follow-up ended by a move out of the region: class and year. Only the
    person, the household and the year, as the deliberation allows for movers."""
    classes = F.create_map(*[x for k, v in MOVE_CLASSES.items() for x in (F.lit(k), F.lit(v))])
    return membership.filter(F.col("end_reason").isin(list(MOVE_CLASSES))).select(
        "insz",
        "population",
        "household_id",
        F.col("valid_to").alias("move_year"),
        classes[F.col("end_reason")].alias("destination"),
    )


def quarter(year_col, q: int):
    return F.concat(year_col.cast("string"), F.lit(f"Q{q}"))


def observation_windows(membership: DataFrame, settings: CohortSettings) -> DataFrame:
    """Per person and population: the quarters each source is linked on.

    - quarterly data: from Q1 of valid_from to the quarter of the event that ends the
      follow-up (``end_quarter``, during valid_to), else Q4 of valid_to; the annual data
      (``year`` Q1 in the window) run to valid_to all the same;
    - position, RVA status, OCMW support (retrospective): from Q1 of the reference year
      minus ``retrospective_years`` for persons followed from the reference date; joiners
      from their first year;
    - the start of an activation action running on the reference date: from January of
      the reference year minus ``activation_lookback_years`` (reference-date persons only).
    """
    from_reference = F.col("valid_from") == F.col("population")
    to = quarter(F.col("valid_to"), 4)
    if "end_quarter" in membership.columns:
        to = F.coalesce(F.col("end_quarter"), to)
    return membership.select(
        "insz",
        "population",
        "role",
        "household_id",
        quarter(F.col("valid_from"), 1).alias("quarterly_from"),
        to.alias("quarterly_to"),
        F.when(from_reference, quarter(F.col("population") - settings.retrospective_years, 1))
        .otherwise(quarter(F.col("valid_from"), 1))
        .alias("retrospective_from"),
        F.when(
            from_reference,
            F.format_string("%d-01", F.col("population") - settings.activation_lookback_years),
        ).alias("activation_start_from"),
    )


def extraction_request(windows: DataFrame) -> DataFrame:
    """The INSZ list Statbel sends to KSZ and VDAB: one row per person and population,
    from the earliest quarter any variable needs to the end of the follow-up."""
    return windows.select(
        "insz",
        "population",
        F.col("retrospective_from").alias("from_quarter"),
        F.col("quarterly_to").alias("to_quarter"),
    ).orderBy("population", "insz")
