from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import types as T

from pseudolink.selfcheck import SELFCHECK_ROWS, checksum, selfcheck_frame


def test_session_has_delta_and_utc(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.sparkContext.master == "local[2]"


def test_delta_round_trip_returns_the_same_rows(spark, tmp_path):
    schema = T.StructType(
        [
            T.StructField("id", T.LongType(), False),
            T.StructField("label", T.StringType(), True),
        ]
    )
    written = spark.createDataFrame([(1, "a"), (2, None), (3, "c")], schema)
    path = str(tmp_path / "t")
    written.write.format("delta").save(path)
    back = spark.read.format("delta").load(path)
    assert_df_equality(back, written, ignore_row_order=True, ignore_nullable=True)
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").collect()
    assert [row["operation"] for row in history] == ["WRITE"]


def test_selfcheck_frame_is_deterministic(spark):
    df = selfcheck_frame(spark)
    assert df.count() == SELFCHECK_ROWS
    assert checksum(df) == checksum(selfcheck_frame(spark))
    assert df.filter("id = 7").first()["quarter"] == "2023-Q4"


def test_plans_redact_national_numbers(spark):
    df = spark.range(1).selectExpr("'85073003328' AS insz")
    plan = df._jdf.queryExecution().toString()
    assert "85073003328" not in plan
    assert "*********(redacted)" in plan


def test_last_commit_counts_the_rows_a_write_committed(spark, tmp_path):
    from pseudolink.storage import last_commit, write_delta

    path = str(tmp_path / "t")
    df = spark.range(100).selectExpr("id", "id % 3 AS population")
    write_delta(df.repartition("population"), path, ["population"])
    assert last_commit(spark, path) == (0, 100)
    write_delta(df.filter("id < 0"), path, ["population"])  # emptied: no rows, a commit
    assert last_commit(spark, path) == (1, 0)
    # A commit without metrics (Delta's history metrics off) is counted instead.
    key = "spark.databricks.delta.history.metricsEnabled"
    spark.conf.set(key, "false")
    try:
        write_delta(df.filter("id < 7"), path, ["population"])
    finally:
        spark.conf.unset(key)
    commit = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").first()
    assert not (commit["operationMetrics"] or {}).get("numOutputRows")
    assert last_commit(spark, path) == (2, 7)
