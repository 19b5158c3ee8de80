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


def presence(demobel: DataFrame, municipalities: DataFrame) -> DataFrame:
    """One row per person and 1 January: household, region and age (DEMOBEL)."""
    d = demobel.alias("d")
    m = F.broadcast(municipalities.alias("m"))
    return d.join(m, F.col("d.municipality") == F.col("m.code"), how="left").select(
        F.col("d.insz").alias("insz"),
        F.col("d.year").cast("int").alias("year"),
        F.col("d.household_id").alias("household_id"),
        F.col("m.region").alias("region"),
        age_on_january_first(F.col("d.year"), F.col("d.birth_date"), F.col("d.age")).alias("age"),
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


def household_candidates(
    index: DataFrame, present: DataFrame, settings: CohortSettings
) -> DataFrame:
    """Members and joiners: everyone who is in an index person's household (in the
    region) on 1 January of the reference year or later, once per population, with the
    household they are first in (earliest year, then the smallest household id)."""
    households = index.select("population", "household_id").distinct().alias("h")
    p = present.alias("p")
    first = (
        p.filter(F.col("p.region") == F.lit(settings.region))
        .join(households, on="household_id", how="inner")
        .filter(F.col("p.year") >= F.col("h.population"))
        .groupBy("insz", "population", "household_id")
        .agg(F.min("year").alias("valid_from"))
        .join(index.select("insz", "population"), on=["insz", "population"], how="left_anti")
    )
    best = F.min(F.struct("valid_from", "household_id")).alias("best")
    return (
        first.groupBy("insz", "population")
        .agg(best)
        .select(
            "insz",
            "population",
            F.lit("member").alias("role"),
            F.col("best.household_id").alias("household_id"),
            F.col("best.valid_from").alias("valid_from"),
        )
    )
