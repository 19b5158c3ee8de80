"""The KSZ socio-economic position in a few groups, and its quarter-to-quarter transitions.

The position is a hierarchical code (first digit: 1 working, 2 job seeking, 3 not
economically active, 4 unknown; shared/domain.md). ``POSITION_GROUPS`` maps code prefixes to
groups, the longest prefix winning; pass another mapping for another grouping.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

POSITION_GROUPS = {
    "1": "working",
    "2": "job seeking",
    "3": "other inactive",
    "321": "social assistance",
    "33": "retired",
    "34": "retired",
    "35": "student",
    "36": "sick or disabled",
    "4": "unknown",
}


def position_group(code: Column, groups: dict[str, str] | None = None) -> Column:
    """The group of a position code (longest matching prefix; null when none matches)."""
    groups = groups or POSITION_GROUPS
    out = None
    for prefix in sorted(groups, key=len, reverse=True):
        match = code.startswith(prefix)
        out = (
            F.when(match, F.lit(groups[prefix])) if out is None else out.when(match, groups[prefix])
        )
    assert out is not None
    return out


def quarter_index(quarter: Column) -> Column:
    """'YYYYQn' as a running quarter number (year * 4 + n - 1)."""
    return F.substring(quarter, 1, 4).cast("int") * 4 + F.substring(quarter, 6, 1).cast("int") - 1


def month_quarter_index(month: Column) -> Column:
    """'YYYY-MM' as the running number of its quarter."""
    year = F.substring(month, 1, 4).cast("int")
    return year * 4 + F.floor((F.substring(month, 6, 2).cast("int") - 1) / 3).cast("int")


def quarter_label(index: Column) -> Column:
    """The running quarter number back as 'YYYYQn'."""
    return F.format_string("%dQ%d", F.floor(index / 4).cast("int"), (index % 4) + 1)


def transitions(ksz: DataFrame, groups: dict[str, str] | None = None) -> DataFrame:
    """Per population, person and pair of position groups (``from_position`` in a quarter,
    ``to_position`` in the next): ``transitions``, how many times the person made it, over
    every pair of consecutive quarters with a position (a missing quarter breaks a pair)."""
    keys = ["population", "person_id", "_q"]
    positions = ksz.select(
        "population",
        "person_id",
        quarter_index(F.col("quarter")).alias("_q"),
        position_group(F.col("socio_economic_position"), groups).alias("_position"),
    )
    following = positions.select(
        "population",
        "person_id",
        (F.col("_q") - 1).alias("_q"),
        F.col("_position").alias("to_position"),
    )
    return (
        positions.join(following, keys, "inner")
        .groupBy(
            "population", "person_id", F.col("_position").alias("from_position"), "to_position"
        )
        .agg(F.count(F.lit(1)).alias("transitions"))
    )
