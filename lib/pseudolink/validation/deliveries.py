"""What each delivery brought, per source, kind and period: rows received, accepted,
quarantined by reason; and the linkage report per population and period.

A quarantined line has no trusted period (it may not parse at all): its period is read from
its raw text with the ingest's own parser, as far as that works, else ``unreadable``.
"""

from __future__ import annotations

from functools import reduce

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from pseudolink.catalog import QUARANTINE
from pseudolink.ingest.parse import parse_value, period_of
from pseudolink.schemas import SOURCES, FileSchema, SourceSchema
from pseudolink.storage import HadoopFs

UNREADABLE = "unreadable"
COUNT_SCHEMA = "source string, kind string, period string, reason string, rows long"


def accepted_counts(bronze: DataFrame, source: str, kind: str) -> DataFrame:
    """Rows of a bronze table per period (``reason`` null: accepted). The period is the
    partition column: the count reads no data column."""
    return (
        bronze.groupBy("period")
        .agg(F.count(F.lit(1)).alias("rows"))
        .select(
            F.lit(source).alias("source"),
            F.lit(kind).alias("kind"),
            F.col("period").cast("string").alias("period"),
            F.lit(None).cast("string").alias("reason"),
            "rows",
        )
    )


def quarantine_counts(quarantine: DataFrame, schemas: dict[str, SourceSchema]) -> DataFrame:
    """Quarantined lines per source, kind, period (read from the raw line, else
    ``unreadable``) and reason."""
    present = [
        (r["source"], r["kind"]) for r in quarantine.select("source", "kind").distinct().collect()
    ]
    parts = []
    for source, kind in sorted(present):
        file_schema = schemas[source].files.get(kind) if source in schemas else None
        lines = quarantine.filter((F.col("source") == source) & (F.col("kind") == kind))
        period = F.lit(None).cast("string")
        if file_schema is not None:
            period = raw_period(F.col("raw_line"), file_schema)
        parts.append(
            lines.groupBy(F.coalesce(period, F.lit(UNREADABLE)).alias("period"), "reason")
            .agg(F.count(F.lit(1)).alias("rows"))
            .select(
                F.lit(source).alias("source"),
                F.lit(kind).alias("kind"),
                "period",
                "reason",
                "rows",
            )
        )
    if not parts:
        return quarantine.sparkSession.createDataFrame([], COUNT_SCHEMA)
    return reduce(DataFrame.unionByName, parts)


def raw_period(raw: Column, schema: FileSchema) -> Column:
    """The period of a raw delivery line, parsed from its period column as the ingest does
    (null when the field is missing or does not parse)."""
    index = schema.names.index(schema.period_column)
    column = schema.columns[index]
    text = F.nullif(F.try_element_at(F.split(raw, ";", -1), F.lit(index + 1)), F.lit(""))
    return period_of(parse_value(text, column.type), column, schema.period)


def delivery_counts(
    spark: SparkSession, bronze_zone: str, schemas: dict[str, SourceSchema]
) -> pd.DataFrame:
    """Accepted and quarantined rows of every bronze table under ``bronze_zone`` (long form:
    one row per source, kind, period and reason; reason empty for accepted)."""
    fs = HadoopFs(spark)
    parts = []
    for source in SOURCES:
        for kind in schemas[source].files:
            path = f"{bronze_zone}/{source}/{kind}"  # catalog.Catalog.bronze_table
            if fs.exists(f"{path}/_delta_log"):
                parts.append(accepted_counts(spark.read.format("delta").load(path), source, kind))
    quarantine = f"{bronze_zone}/{QUARANTINE}"
    if fs.exists(f"{quarantine}/_delta_log"):
        parts.append(quarantine_counts(spark.read.format("delta").load(quarantine), schemas))
    if not parts:
        return spark.createDataFrame([], COUNT_SCHEMA).toPandas()
    return reduce(DataFrame.unionByName, parts).toPandas()


def delivery_overview(counts: pd.DataFrame) -> pd.DataFrame:
    """Per source, kind and period: received, accepted, quarantined, the quarantined share
    and one column per quarantine reason (from :func:`delivery_counts`)."""
    keys = ["source", "kind", "period"]
    accepted = counts[counts["reason"].isna()].groupby(keys)["rows"].sum().rename("accepted")
    held = counts[counts["reason"].notna()]
    out = accepted.to_frame()
    if len(held):
        reasons = held.pivot_table(index=keys, columns="reason", values="rows", aggfunc="sum")
        out = out.join(reasons, how="outer")
    out = out.fillna(0).astype("int64")
    reason_columns = [c for c in out.columns if c != "accepted"]
    out["quarantined"] = out[reason_columns].sum(axis=1) if reason_columns else 0
    out["received"] = out["accepted"] + out["quarantined"]
    out["quarantined_share"] = (out["quarantined"] / out["received"]).round(6)
    columns = ["received", "accepted", "quarantined", "quarantined_share", *sorted(reason_columns)]
    return out[columns].reset_index().sort_values(keys, kind="stable").reset_index(drop=True)


def linkage_overview(report: pd.DataFrame) -> pd.DataFrame:
    """The linkage report (``trusted/linked/_report``) per source, kind, population and
    period, populations only (rows in no population are the 'none' rows)."""
    columns = ["source", "kind", "population", "period", "rows_in", "linked", "outside_window"]
    out = report[report["population"] != "none"][columns].copy()
    out["linkage_rate"] = (out["linked"] / out["rows_in"]).where(out["rows_in"] > 0).round(6)
    return out.sort_values(["source", "kind", "population", "period"]).reset_index(drop=True)
