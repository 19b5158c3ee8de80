"""Runtime check: Spark starts with Delta, writes a Delta table and reads it back."""

from __future__ import annotations

from pseudolink.cli import JobContext
from pseudolink.errors import PseudolinkError
from pseudolink.selfcheck import SELFCHECK_ROWS, checksum, selfcheck_frame

TABLE = "_runtime/selfcheck"


def run(ctx: JobContext) -> str:
    """Write the selfcheck table under the data root, read it back, return its URI."""
    spark = ctx.spark
    path = ctx.config.zone(TABLE)
    written = selfcheck_frame(spark)
    written.write.format("delta").mode("overwrite").save(path)
    back = spark.read.format("delta").load(path)
    rows = back.count()
    if rows != SELFCHECK_ROWS or checksum(back) != checksum(written):
        raise PseudolinkError(
            f"Delta round trip at {path} returned {rows} rows "
            f"(expected {SELFCHECK_ROWS} identical rows)"
        )
    version = spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").first()["version"]
    ctx.log.info(
        "selfcheck: Spark %s (master %s) wrote and read back %d rows of Delta "
        "table %s (version %s)",
        spark.version,
        spark.sparkContext.master,
        rows,
        path,
        version,
    )
    ctx.audit.add("selfcheck", outputs=[TABLE], counts={"rows": rows})
    return path
