"""Erasing rows from Delta tables so that no data file holding them is left on disk.

Delta's documented steps (delta-io/delta docs): DELETE the rows; with deletion vectors,
``REORG TABLE ... APPLY (PURGE)`` rewrites the files that still hold deleted rows; VACUUM
then removes every file the table no longer uses. VACUUM below the default 168 hours needs
``spark.databricks.delta.retentionDurationCheck.enabled=false``, which is switched off
for the VACUUM alone and restored after. The erasure is done only when the disk shows it:
:func:`leftover_files` lists the data files a table folder still holds beyond those of
its current snapshot.

The transaction log keeps each removed file's column statistics (min and max values, an
INSZ among them) until log clean-up, so a table emptied of one source's rows is given a
fresh log (:func:`rewrite_log`) and a table emptied entirely is removed with its folder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from pseudolink.storage import HadoopFs

RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
LISTING = "spark.databricks.delta.vacuum.fileListing.parallelism"
LOG = "_delta_log"


@contextlib.contextmanager
def settings(spark: SparkSession, values: dict[str, str]) -> Iterator[None]:
    """Spark settings for the block only; the old values (or none) are restored."""
    before = {k: spark.conf.get(k, None) for k in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def retention_check_off(spark: SparkSession) -> contextlib.AbstractContextManager[None]:
    """Allow VACUUM RETAIN 0 HOURS within the block only. VACUUM lists the table folder
    with 200 tasks by default (Delta's vacuum.fileListing.parallelism): as many as the
    shuffle partitions are plenty for the tables here."""
    parallelism = spark.conf.get("spark.sql.shuffle.partitions", "8")
    return settings(
        spark,
        {
            RETENTION_CHECK: "false",
            LISTING: parallelism,
            "spark.sql.sources.parallelPartitionDiscovery.parallelism": parallelism,
        },
    )


def deletion_vectors_on(spark: SparkSession, path: str) -> bool:
    """The table property, from the table's metadata (no scan)."""
    props = dict(spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect())
    return str(props.get("delta.enableDeletionVectors", "false")).lower() == "true"


def erase(spark: SparkSession, path: str, condition: str | None = None) -> dict[str, object]:
    """DELETE the rows matching ``condition`` (all rows without one), REORG ... APPLY
    (PURGE) when deletion vectors are on, and VACUUM RETAIN 0 HOURS. Returns the steps."""
    table = DeltaTable.forPath(spark, path)
    steps: list[str] = []
    if condition is None:
        table.delete()
    else:
        table.delete(condition)
    steps.append("DELETE")
    if deletion_vectors_on(spark, path):
        spark.sql(f"REORG TABLE delta.`{path}` APPLY (PURGE)")
        steps.append("REORG APPLY (PURGE)")
    with retention_check_off(spark):
        spark.sql(f"VACUUM delta.`{path}` RETAIN 0 HOURS")
    steps.append("VACUUM RETAIN 0 HOURS")
    return {"steps": steps}


def data_files(fs: HadoopFs, path: str, prefix: str = "") -> list[tuple[str, int]]:
    """Every file under a table folder but its log (data files, deletion vectors, change
    data), as (relative path, bytes); Hadoop's hidden ``.crc`` checksums are skipped."""
    out: list[tuple[str, int]] = []
    if not fs.exists(path):
        return out
    for e in fs.list(path):
        rel = f"{prefix}{e.name}"
        if e.is_dir:
            if not (prefix == "" and e.name == LOG):
                out += data_files(fs, f"{path}/{e.name}", rel + "/")
        elif not (e.name.startswith(".") and e.name.endswith(".crc")):
            out.append((rel, e.size))
    return sorted(out)


def leftover_files(spark: SparkSession, fs: HadoopFs, path: str) -> list[str]:
    """Data files on disk that the table's current snapshot does not use (what VACUUM
    should have removed): an empty list is the proof the erasure reached the disk."""
    used = {_relative(f, path) for f in spark.read.format("delta").load(path).inputFiles()}
    return [rel for rel, _ in data_files(fs, path) if rel not in used]


def rewrite_log(spark: SparkSession, fs: HadoopFs, path: str) -> None:
    """Copy the table's current rows into a new table with a fresh log (no statistics of
    the erased files, no history) and put it in the old one's place. A crash leaves either
    the old table, or the complete copy beside it, which :func:`finish_rewrite` places."""
    fresh = f"{path}.rewrite"
    if fs.exists(fresh):
        fs.delete(fresh)
    detail = DeltaTable.forPath(spark, path).detail().first()
    parts, props = list(detail["partitionColumns"]), dict(detail["properties"] or {})
    rows = spark.read.format("delta").load(path)
    empty = rows.isEmpty()
    writer = rows.write.format("delta").mode("overwrite")
    if parts:
        writer = writer.partitionBy(*parts)
    writer.save(fresh)
    if props:
        listed = ", ".join(f"'{k}' = '{v}'" for k, v in sorted(props.items()))
        spark.sql(f"ALTER TABLE delta.`{fresh}` SET TBLPROPERTIES ({listed})")
    if empty:
        # Spark writes one empty Parquet file for an empty frame and Delta does not log
        # it: an unused file, which VACUUM removes.
        with retention_check_off(spark):
            spark.sql(f"VACUUM delta.`{fresh}` RETAIN 0 HOURS")
    fs.delete(path)
    finish_rewrite(fs, path)
    forget_tables(spark)


def forget_tables(spark: SparkSession) -> None:
    """Drop Delta's cached table states: a table replaced under the same path would
    otherwise be reported in a warning that prints the old state's file statistics."""
    spark.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


def finish_rewrite(fs: HadoopFs, path: str) -> None:
    """After a crash between removing the old table and renaming its fresh copy."""
    fresh = f"{path}.rewrite"
    if not fs.exists(path) and fs.exists(f"{fresh}/{LOG}"):
        fs.rename(fresh, path)


def _relative(uri: str, path: str) -> str:
    """A snapshot file's URI relative to the table folder (URIs may differ in the number
    of slashes after ``file:``)."""
    base = path.split(":", 1)[-1].lstrip("/")
    name = uri.split(":", 1)[-1].lstrip("/")
    return name[len(base) :].lstrip("/") if name.startswith(base) else name
