"""A runtime check: Spark with Delta writes a table and reads the same rows back."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

SELFCHECK_ROWS = 1000


def selfcheck_frame(spark: SparkSession, rows: int = SELFCHECK_ROWS) -> DataFrame:
    """A small deterministic table: id, its square and a quarter label."""
    return spark.range(rows).select(
        F.col("id").alias("id"),
        (F.col("id") * F.col("id")).alias("id_squared"),
        F.format_string("%d-Q%d", F.lit(2016) + F.col("id") % 9, F.col("id") % 4 + 1).alias(
            "quarter"
        ),
    )


def checksum(df: DataFrame) -> int:
    """An order-independent checksum of the selfcheck table (one aggregate, no collect)."""
    return int(df.agg(F.sum(F.xxhash64("id", "id_squared", "quarter") % 1_000_003)).first()[0])
