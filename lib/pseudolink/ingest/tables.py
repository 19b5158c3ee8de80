"""Where the ingest writes under ``bronze/``, and the Delta writes that make it idempotent.

Every write of a delivery's rows replaces that delivery's rows and only those
(``replaceWhere`` on ``delivery_id``), so writing the same rows twice leaves one copy.
The ledger entry is written last: a delivery is complete exactly when it is there.
"""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F


def replace_delivery(
    df: DataFrame, path: str, delivery_id: str, partition_by: list[str] | None = None
) -> None:
    """Write ``df`` as the whole content of ``delivery_id`` in the Delta table at ``path``."""
    writer = (
        df.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"delivery_id = '{delivery_id}'")
    )
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(path)


def append(df: DataFrame, path: str) -> None:
    df.write.format("delta").mode("append").save(path)


def ledger_entry(spark: SparkSession, path: str, delivery_id: str) -> Row | None:
    """The ledger's row for ``delivery_id``, or None (also when there is no ledger yet)."""
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    rows = (
        spark.read.format("delta")
        .load(path)
        .filter(F.col("delivery_id") == F.lit(delivery_id))
        .collect()
    )
    return rows[0] if rows else None


def table_version(spark: SparkSession, path: str) -> int | None:
    """The latest version of a Delta table, None when there is none."""
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return int(DeltaTable.forPath(spark, path).history(1).first()["version"])
