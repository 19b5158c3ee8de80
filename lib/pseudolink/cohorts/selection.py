"""Who is where on 1 January, and who is an index person on a reference date."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.config import CohortSettings


def age_on_january_first(year: Column, birth_date: Column, reported_age: Column) -> Column:
    """Exact age on 1 January of ``year``: a birthday on that day counts. Falls back on the
    reported age when the birth date is unknown (a day or month 00 in the INSZ)."""
    born_later_in_year = (F.month(birth_date) > 1) | (F.dayofmonth(birth_date) > 1)
    exact = year - F.year(birth_date) - F.when(born_later_in_year, 1).otherwise(0)
    return F.coalesce(exact, reported_age).cast("int")


# DEMOBEL's collective household: household type 6 (conf/codes/household_type.csv) or
# position 11 (conf/codes/household_position.csv). Not a household to follow: nobody is a
# member because they share one with an index person (see followup.py).
COLLECTIVE_TYPE, COLLECTIVE_POSITION = "6", "11"


def presence(demobel: DataFrame, municipalities: DataFrame) -> DataFrame:
    """One row per person and 1 January: household, region, age (DEMOBEL) and whether the
    household is a collective one."""
    d = demobel.alias("d")
    m = F.broadcast(municipalities.alias("m"))
    return d.join(m, F.col("d.municipality") == F.col("m.code"), how="left").select(
        F.col("d.insz").alias("insz"),
        F.col("d.year").cast("int").alias("year"),
        F.col("d.household_id").alias("household_id"),
        F.col("m.region").alias("region"),
        age_on_january_first(F.col("d.year"), F.col("d.birth_date"), F.col("d.age")).alias("age"),
        F.coalesce(
            (F.col("d.household_type") == F.lit(COLLECTIVE_TYPE))
            | (F.col("d.household_position") == F.lit(COLLECTIVE_POSITION)),
            F.lit(False),
        ).alias("collective"),
    )


def filter_index_persons(
    present: DataFrame, census: DataFrame, settings: CohortSettings
) -> DataFrame:
    """Index persons of every reference year: in the region, of age, and with a CENSUS
    labour market situation that is not working, retired or studying. A person without
    a CENSUS row for that year is not selected."""
    excluded = [*settings.working, *settings.retired, *settings.studying]
    p = present.alias("p")
    c = census.select(
        "insz", F.col("year").cast("int").alias("year"), "labour_market_situation"
    ).alias("c")
    return (
        p.filter(F.col("p.year").isin(settings.reference_years))
        .filter(F.col("p.region") == F.lit(settings.region))
        .filter(F.col("p.age").between(settings.age_min, settings.age_max))
        .join(c, on=["insz", "year"], how="inner")
        .filter(~F.col("c.labour_market_situation").isin(excluded))
        .select(
            F.col("insz"),
            F.col("year").alias("population"),
            F.lit("index").alias("role"),
            F.col("p.household_id").alias("household_id"),
            F.col("year").alias("valid_from"),
        )
    )
