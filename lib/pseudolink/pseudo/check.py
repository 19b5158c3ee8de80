"""The pseudonymised tables' own check: no direct identifier may remain.

Per table, one pass: no column named like an identifier; among the distinct values of
every string column, none that looks like an INSZ (a run of exactly eleven digits) and
none that is a Statbel household id (a semi-join with the known ids). A finding fails the
run (the stage then removes what it wrote).
"""

from __future__ import annotations

import re

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

IDENTIFIER_COLUMN = re.compile(r"(^|_)(insz|household_id|action_id|source_file|source_line)$")
INSZ_LIKE = r"(^|[^0-9])[0-9]{11}([^0-9]|$)"
# Column names a release may never hold: an INSZ column, or the ingest's lineage.
RELEASE_COLUMN = re.compile(r"(^|_)(insz|source_file|source_line)$")


def identifier_findings(
    df: DataFrame, household_ids: DataFrame, names: re.Pattern[str] = IDENTIFIER_COLUMN
) -> list[str]:
    """What in ``df`` is or looks like a direct identifier, in words (empty: nothing).

    ``names``: the column names that are identifiers (the release names its sequence
    numbers household_id and action_id, so it passes a narrower pattern)."""
    findings = [
        f"column '{f.name}' is an identifier column"
        for f in df.schema.fields
        if names.search(f.name)
    ]
    strings = [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType)]
    if not strings:
        return findings
    values = (
        df.select(
            F.explode(
                F.array(*[F.struct(F.lit(c).alias("c"), F.col(c).alias("v")) for c in strings])
            ).alias("x")
        )
        .select("x.c", "x.v")
        .filter(F.col("v").isNotNull())
        .distinct()
    )
    known = household_ids.select(F.col("household_id").alias("_h")).distinct()
    flagged = (
        values.join(known, values["v"] == known["_h"], "left")
        .groupBy("c")
        .agg(
            F.sum(F.when(F.col("v").rlike(INSZ_LIKE), 1).otherwise(0)).alias("insz_like"),
            F.sum(F.when(F.col("_h").isNotNull(), 1).otherwise(0)).alias("household_ids"),
        )
        .filter((F.col("insz_like") > 0) | (F.col("household_ids") > 0))
        .collect()
    )
    for r in flagged:
        if r["insz_like"]:
            findings.append(f"column '{r['c']}' holds {r['insz_like']} INSZ-like value(s)")
        if r["household_ids"]:
            findings.append(f"column '{r['c']}' holds {r['household_ids']} household id(s)")
    return findings
