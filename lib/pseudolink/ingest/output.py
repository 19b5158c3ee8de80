"""The frames the ingest writes: bronze rows, quarantined lines and per-file counts."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.schemas import FileSchema

QUARANTINE_COLUMNS = (
    "source",
    "delivery_id",
    "kind",
    "file",
    "line",
    "raw_line",
    "reason",
    "reason_detail",
    "ingest_time",
)


def select_staged(df: DataFrame, schema: FileSchema) -> DataFrame:
    """What the later steps need of a checked line (the staging folder's columns): the
    typed values, period, file, split offset and row id, reason, detail and the raw text
    (kept for every line: a good line may still turn out a duplicate key and be
    quarantined as it came; in Parquet the other steps never read that column)."""
    return df.select(
        *[F.col(c.name) for c in schema.columns],
        F.col("period"),
        F.col("_file"),
        F.col("_block"),
        F.col("_id"),
        F.col("_raw"),
        F.col("_reason"),
        F.col("_detail"),
    )


def filter_accepted(validated: DataFrame) -> DataFrame:
    return validated.filter(F.col("_reason").isNull())


def filter_quarantined(validated: DataFrame) -> DataFrame:
    return validated.filter(F.col("_reason").isNotNull())


def bronze_frame(
    validated: DataFrame, schema: FileSchema, delivery_id: str, ingest_time: dt.datetime
) -> DataFrame:
    """Accepted lines as typed bronze rows: schema columns, period, lineage columns."""
    return filter_accepted(validated).select(
        *[F.col(c.name) for c in schema.columns],
        F.col("period").alias("period"),
        F.lit(delivery_id).alias("delivery_id"),
        F.col("_file").alias("source_file"),
        F.col("_line").cast("long").alias("source_line"),
        F.lit(ingest_time).alias("ingest_time"),
    )


def quarantine_frame(
    validated: DataFrame, source: str, delivery_id: str, kind: str, ingest_time: dt.datetime
) -> DataFrame:
    """Quarantined lines as they came (invalid UTF-8 bytes shown as U+FFFD), with why."""
    return filter_quarantined(validated).select(
        F.lit(source).alias("source"),
        F.lit(delivery_id).alias("delivery_id"),
        F.lit(kind).alias("kind"),
        F.col("_file").alias("file"),
        F.col("_line").cast("long").alias("line"),
        F.make_valid_utf8(F.col("_raw")).alias("raw_line"),
        F.col("_reason").alias("reason"),
        F.col("_detail").alias("reason_detail"),
        F.lit(ingest_time).alias("ingest_time"),
    )


def counts_frame(validated: DataFrame) -> DataFrame:
    """Lines per file and reason (null reason = accepted): the one counting aggregation."""
    return validated.groupBy(F.col("_file").alias("file"), F.col("_reason").alias("reason")).agg(
        F.count(F.lit(1)).alias("lines")
    )
