"""The released tables as DataFrames: selected, renamed, coarsened, with column comments.

Pure ``DataFrame -> DataFrame`` functions; the release stage reads and writes.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.release.hierarchy import classed
from pseudolink.release.rules import PERSON_YEAR_TABLES, ReleaseRules, TableRule

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


# The time-invariant DEMOBEL and CENSUS values released once per person, at the reference
# date (conf/release.yaml, table persons): their source column and table.
PERSON_SOURCES = {
    "sex": "demobel",
    "place_of_birth": "demobel",
    "first_nationality": "demobel",
    "origin": "demobel",
    "year_of_arrival": "census",
}
AGE, AGE_AT_REFERENCE = "age", "age_at_reference"
EVENT = "_event"  # the events scenario's keys: the year of the end of follow-up,
EVENT_KIND = "_event_kind"  # and its kind (moved_out, left_household, ended): suppressible
NO_EVENT = "none"  # both, when followed to the last year
ROW_KEY = ["population", "year", "person_id"]


def yearly_frame(sources: dict[str, DataFrame], rules: ReleaseRules) -> DataFrame:
    """One row per population, year and person of the annual person tables (demobel and
    census joined): ``person_id``, ``household_id``, the source column of every column
    they release and the sources of the persons' time-invariant values, named as in the
    pseudonymised tables (``municipality``, ``age``...)."""
    parts = []
    taken: set[str] = set()
    for name in PERSON_YEAR_TABLES:
        table = rules.tables[name]
        ids = {"population", "year", "person_id", "household_id"}
        wanted = [rule.source or c for c, rule in table.columns.items() if c not in ids]
        wanted += [src for src, t in PERSON_SOURCES.items() if t == name]
        wanted += [AGE] if name == "demobel" else []
        wanted = [c for c in dict.fromkeys(wanted) if c not in taken and not c.endswith("_seq")]
        taken.update(wanted)
        parts.append(
            sources[table.source].select(
                F.col("population").cast("int").alias("population"),
                F.col(table.columns["year"].source or "year").cast("int").alias("year"),
                F.col(table.columns["person_id"].source or "person_id").alias("person_id"),
                F.col(table.columns["household_id"].source or "household_id").alias(f"_hh_{name}"),
                *wanted,
            )
        )
    joined = parts[0]
    for p in parts[1:]:
        joined = joined.join(p, ROW_KEY, "full")
    household = F.coalesce(*[F.col(f"_hh_{n}") for n in PERSON_YEAR_TABLES]).alias("household_id")
    return joined.select(*ROW_KEY, household, *sorted(taken))


def reference_rows(yearly: DataFrame) -> DataFrame:
    """Per population and person, the row of the first year followed (the reference date
    for the persons of the population), with ``ref_year`` and ``age_at_reference`` (the age
    on 1 January of the population's year: the age then, less the years since)."""
    first = yearly.groupBy("population", "person_id").agg(F.min("year").alias("year"))
    rows = yearly.join(first, ["population", "person_id", "year"])
    age = F.col("age").cast("int") - (F.col("year") - F.col("population"))
    return rows.select("*", F.col("year").alias("ref_year"), age.alias(AGE_AT_REFERENCE)).drop(
        "year"
    )


def persons_frame(
    membership: DataFrame,
    moves: DataFrame,
    reference: DataFrame,
    ksz: DataFrame | None = None,
) -> DataFrame:
    """One row per person and population: index person or member, the first and last year
    followed, whether the person moved out of the region, the time-invariant values of the
    reference date (``reference``: :func:`reference_rows`), the end reason of the last
    membership (``_end_reason``, for the events scenario) and (with ``ksz``) the start of
    an activation action running at the reference date (:func:`activation_at_reference`)."""
    per = membership.groupBy("population", F.col("person_seq").alias("person_id")).agg(
        F.max(F.col("role") == "index").alias("_index"),
        F.min("valid_from").alias("first_year"),
        F.max("valid_to").alias("last_year"),
        F.max_by("end_reason", "valid_to").alias("_end_reason"),
    )
    moved = moves.select("population", F.col("person_seq").alias("person_id")).distinct()
    moved = moved.withColumn("_moved", F.lit(True))
    values = reference.select(
        F.col("population").cast("int").alias("population"),
        "person_id",
        *PERSON_SOURCES,
        AGE_AT_REFERENCE,
    )
    out = per.join(moved, ["population", "person_id"], "left").join(
        values, ["population", "person_id"], "left"
    )
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
        *PERSON_SOURCES,
        AGE_AT_REFERENCE,
        activation.alias("activation_start"),
        "_end_reason",
    )


def event_key(persons: DataFrame, rules: ReleaseRules, conf_dir: Path | str, last_year: int):
    """Per person: ``_event``, the year of the end of follow-up, and ``_event_kind``, its
    kind as released (``moved_out``, ``left_household``, ``ended``); both ``none`` when
    followed to ``last_year``."""
    rule = rules.tables["household_membership"].columns["end_reason"]
    reason = F.col("_end_reason")
    if rule.hierarchy:
        reason = classed(reason, rules.hierarchies[rule.hierarchy], rule.level, conf_dir)
    kind = F.when(F.col("moved_out") == YES, F.lit("moved_out")).otherwise(
        F.coalesce(reason, F.lit("ended"))
    )
    ended = F.col("last_year") < F.lit(last_year)
    return persons.select(
        "population",
        "person_id",
        F.when(ended, F.col("last_year").cast("string")).otherwise(F.lit(NO_EVENT)).alias(EVENT),
        F.when(ended, kind).otherwise(F.lit(NO_EVENT)).alias(EVENT_KIND),
    )


def hidden_moves(moves: DataFrame, person_mask: DataFrame) -> DataFrame:
    """The released ``moves`` without the rows of a person whose kind of end of follow-up
    is suppressed (``_null_moved_out``), nor those of the household that moved with them
    (same household and year), which would give it back."""
    if "_null_moved_out" not in person_mask.columns:
        return moves
    key = ["population", "person_id"]
    hidden = person_mask.filter(F.col("_null_moved_out")).select(*key)
    theirs = moves.join(hidden, key, "left_semi").select("population", "household_id", "move_year")
    kept = moves.join(hidden, key, "left_anti").join(
        theirs.distinct(), ["population", "household_id", "move_year"], "left_anti"
    )
    return kept.select(*[F.col(f.name).alias(f.name, metadata=f.metadata) for f in moves.schema])


def column_value(
    name: str, table: TableRule, rules: ReleaseRules, conf_dir: Path | str, levels: dict[str, int]
) -> Column:
    """A released column: its source, classed at its level (a key's level may have been
    raised by global recoding), with its comment as column metadata."""
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


def key_column(
    name: str, table: TableRule, rules: ReleaseRules, conf_dir: Path | str, levels: dict[str, int]
) -> Column:
    """A key's released value (classed at ``levels``), without the column's comment."""
    rule = table.columns[name]
    value = F.col(rule.source or name)
    if rule.hierarchy:
        value = classed(
            value, rules.hierarchies[rule.hierarchy], levels.get(name, rule.level), conf_dir
        )
    return value.cast("string").alias(name)


def masked(released: DataFrame, mask: DataFrame, key: list[str]) -> DataFrame:
    """``released`` with a column set to null where ``mask`` (``key`` and one boolean
    ``_null_<column>`` per column it suppresses) says so; the columns keep their order,
    type and comment."""
    flags = [c for c in mask.columns if c.startswith("_null_") and c[6:] in released.columns]
    if not flags:
        return released
    joined = released.join(mask.select(*key, *flags), key, "left")
    cols = []
    for f in released.schema.fields:
        if f"_null_{f.name}" in flags:
            hide = F.coalesce(F.col(f"_null_{f.name}"), F.lit(False))
            value = F.when(hide, F.lit(None)).otherwise(F.col(f.name)).cast(f.dataType)
            cols.append(value.alias(f.name, metadata=f.metadata))
        else:
            cols.append(F.col(f.name))
    return joined.select(*cols)


def partition_columns(table: TableRule) -> list[str]:
    return ["population"] + ([table.period] if table.period != "none" else [])
