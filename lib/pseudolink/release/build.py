"""The released tables as DataFrames: selected, renamed, coarsened, with column comments.

Pure ``DataFrame -> DataFrame`` functions; the release stage reads and writes.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.release.coarsen import classed
from pseudolink.release.rules import PERSON_YEAR_TABLES, ReleaseRules, TableRule
from pseudolink.release.treat import ID_COLUMNS, raw_col

YES, NO = "Y", "N"


# Footnote 4: the start of an activation action is released only "van personen die begin
# 2016, 2019 of 2022 een activeringsactie volgden ... tot drie jaar terug".
LOOKBACK_YEARS = 3
OVER_LOOKBACK = ">3y"


def activation_at_reference(ksz: DataFrame, membership: DataFrame) -> DataFrame:
    """Per person and population, once: the start (YYYY-MM) of the activation action the
    person was in at the start of the reference year Y, read from the KSZ row of the
    quarter ending 31 December Y-1; only for persons followed from the reference date
    (valid_from = Y: not joiners). A start before January Y-3 becomes ``>3y``; a start
    after the reference date is no action "already followed" then and is left out."""
    from_reference = (
        membership.filter(F.col("valid_from") == F.col("population"))
        .select("population", "person_seq")
        .distinct()
    )
    at_start = ksz.filter(
        F.col("quarter") == F.format_string("%dQ4", F.col("population") - 1)
    ).filter(F.col("activation_start").isNotNull())
    started = F.col("activation_start")
    earliest = F.format_string("%d-01", F.col("population") - LOOKBACK_YEARS)
    before = F.format_string("%d-01", F.col("population"))
    value = F.when(started < earliest, F.lit(OVER_LOOKBACK)).otherwise(started)
    return (
        at_start.join(from_reference, ["population", "person_seq"], "inner")
        .filter(started < before)
        .groupBy("population", "person_seq")
        .agg(F.max(value).alias("activation_start"))
    )


def persons_frame(
    membership: DataFrame, moves: DataFrame, ksz: DataFrame | None = None
) -> DataFrame:
    """One row per person and population: index person or member, the first and last year
    followed, whether the person moved out of the region, and (with ``ksz``) the start of
    an activation action running at the reference date (:func:`activation_at_reference`)."""
    per = membership.groupBy("population", F.col("person_seq").alias("person_id")).agg(
        F.max(F.col("role") == "index").alias("_index"),
        F.min("valid_from").alias("first_year"),
        F.max("valid_to").alias("last_year"),
    )
    moved = moves.select("population", F.col("person_seq").alias("person_id")).distinct()
    moved = moved.withColumn("_moved", F.lit(True))
    out = per.join(moved, ["population", "person_id"], "left")
    activation = F.lit(None).cast("string")
    if ksz is not None:
        act = activation_at_reference(ksz, membership).withColumnRenamed("person_seq", "person_id")
        out = out.join(act, ["population", "person_id"], "left")
        activation = F.col("activation_start")
    return out.select(
        "population",
        "person_id",
        F.when(F.col("_index"), F.lit(YES)).otherwise(F.lit(NO)).alias("index_person"),
        "first_year",
        "last_year",
        F.when(F.col("_moved"), F.lit(YES)).otherwise(F.lit(NO)).alias("moved_out"),
        activation.alias("activation_start"),
    )


def column_value(
    name: str, table: TableRule, rules: ReleaseRules, conf_dir: Path | str, levels: dict[str, int]
) -> Column:
    """A released column: its source, classed at its level (a quasi-identifier's level may
    have been raised by the treatment), with its comment as column metadata."""
    rule = table.columns[name]
    value = F.col(rule.source or name)
    if rule.hierarchy:
        level = levels.get(name, rule.level)
        value = classed(value, rules.hierarchies[rule.hierarchy], level, conf_dir)
    if name == "year" or (name == "population"):
        value = value.cast("int")
    return value.alias(name, metadata={"comment": rule.comment})


def release_frame(
    source: DataFrame,
    table: TableRule,
    rules: ReleaseRules,
    conf_dir: Path | str,
    levels: dict[str, int] | None = None,
) -> DataFrame:
    """The released columns of one table, in the order of conf/release.yaml."""
    return source.select(
        *[column_value(c, table, rules, conf_dir, levels or {}) for c in table.columns]
    )


def with_treated(
    released: DataFrame, table: TableRule, treated: DataFrame, qis: list[str]
) -> DataFrame:
    """Replace a person-year table's quasi-identifiers by their treated values."""
    mine = [q for q in qis if q in table.columns]
    if not mine:
        return released
    key = ["population", "year", "person_id"]
    values = treated.select(*key, *[F.col(q).alias(f"_t_{q}") for q in mine])
    joined = released.join(values, key, "left")
    cols = [
        F.col(f"_t_{c}").alias(c, metadata={"comment": table.columns[c].comment})
        if c in mine
        else F.col(c)
        for c in table.columns
    ]
    return joined.select(*cols)


def scra_base(sources: dict[str, DataFrame], rules: ReleaseRules) -> DataFrame:
    """The SCRA's frame: one row per population, year and person of the annual person
    tables, with each quasi-identifier's source value (``_raw_<qi>``)."""
    parts = []
    for name in PERSON_YEAR_TABLES:
        table = rules.tables[name]
        mine = [q for q in rules.quasi_identifiers if q in table.columns]
        frame = sources[table.source].select(
            F.col("population").cast("int").alias("population"),
            F.col(table.columns["year"].source or "year").cast("int").alias("year"),
            F.col(table.columns["person_id"].source or "person_id").alias("person_id"),
            F.col(table.columns["household_id"].source or "household_id").alias(f"_hh_{name}"),
            *[F.col(table.columns[q].source or q).alias(raw_col(q)) for q in mine],
        )
        parts.append(frame)
    key = ["population", "year", "person_id"]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined.join(p, key, "full")
    household = F.coalesce(*[F.col(f"_hh_{n}") for n in PERSON_YEAR_TABLES]).alias("household_id")
    raws = [raw_col(q) for q in rules.quasi_identifiers]
    return joined.select(*ID_COLUMNS[:3], household, *raws)


def partition_columns(table: TableRule) -> list[str]:
    return ["population"] + ([table.period] if table.period != "none" else [])
