"""The one SparkSession factory. Nothing else in pseudolink builds a session.

It never hard-codes a master: spark-submit (or the caller, such as the test fixture)
decides. It always adds Delta's extension and catalog, UTC as the session time zone and
redaction of INSZ-like numbers and key material in the plans Spark shows. When the session
is not started by spark-submit.sh (a notebook, the tests), it hands Spark the Delta jars
that scripts/bootstrap.sh fetched into .cache/jars.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark import SparkConf
from pyspark.sql import SparkSession

from pseudolink.config import SparkSettings
from pseudolink.errors import ConfigError

# Eleven-digit runs (an INSZ) and hex runs of 64+ characters (key material: the HMAC pads
# of the native pseudonymisation, salts) are replaced in shown plans, the UI and logs;
# secrets in configs too.
INSZ_REDACTION_REGEX = r"(?<!\d)\d{11}(?!\d)|[0-9a-fA-F]{64,}"
SECRET_REDACTION_REGEX = r"(?i)secret|password|passphrase|token|access[.]?key"
# Let HotSpot JIT-compile methods over 8000 bytes of bytecode: the whole-stage code of the
# ingest's validation is that large and would otherwise run interpreted, ~3x slower.
# spark-submit.sh gives it to the driver; here it goes to the executors, and to the driver
# of a session not started by spark-submit (tests, notebooks).
JIT_OPTION = "-XX:-DontCompileHugeMethods"


def delta_jars() -> list[str]:
    """The Delta jars fetched at set-up (``$PSEUDOLINK_HOME/.cache/jars``)."""
    home = Path(os.environ.get("PSEUDOLINK_HOME", Path(__file__).resolve().parents[2]))
    jars = sorted(str(p) for p in (home / ".cache" / "jars").glob("*.jar"))
    if not jars:
        raise ConfigError(
            f"no Delta jars in {home / '.cache' / 'jars'}: run scripts/bootstrap.sh first"
        )
    return jars


def build_spark(
    settings: SparkSettings | None = None,
    *,
    master: str | None = None,
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """Return the SparkSession for pseudolink, creating it if needed.

    ``master`` is only for callers outside spark-submit (tests, notebooks); ``conf`` adds
    or overrides Spark settings after the config's own.
    """
    settings = settings or SparkSettings()
    # Python workers use this interpreter (with pseudolink) unless spark-submit chose one.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(settings.app_name)
    if master:
        builder = builder.master(master)
    launched = SparkConf()  # what spark-submit already set, if it launched us
    values: dict[str, str] = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.sql.redaction.string.regex": INSZ_REDACTION_REGEX,
        "spark.redaction.regex": SECRET_REDACTION_REGEX,
        "spark.sql.ansi.enabled": "true",
        # Delta rebuilds a table's state with this many tasks (default 50): too many for
        # the small logs here, so follow the shuffle partitions.
        "spark.databricks.delta.snapshotPartitions": str(settings.shuffle_partitions),
        "spark.ui.showConsoleProgress": "false",
    }
    if not launched.contains("spark.jars"):
        values["spark.jars"] = ",".join(delta_jars())
    for side in ("driver", "executor"):
        key = f"spark.{side}.extraJavaOptions"
        current = launched.get(key, "")
        if JIT_OPTION not in current:
            values[key] = f"{current} {JIT_OPTION}".strip()
    values.update(settings.extra)
    values.update(conf or {})
    for key, value in values.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("PSEUDOLINK_SPARK_LOG_LEVEL", "WARN"))
    return spark


def notebook_spark(app_name: str = "pseudolink-notebook") -> SparkSession:
    """A small local session for a notebook: ``$PSEUDOLINK_MASTER`` or local[2], 2 shuffle
    partitions, 2 GB of driver memory (``$PSEUDOLINK_DRIVER_MEMORY``), no UI; Delta on and
    the same redaction as every job."""
    return build_spark(
        SparkSettings(app_name=app_name, shuffle_partitions=2),
        master=os.environ.get("PSEUDOLINK_MASTER", "local[2]"),
        conf={
            "spark.ui.enabled": "false",
            "spark.default.parallelism": "2",
            "spark.driver.memory": os.environ.get("PSEUDOLINK_DRIVER_MEMORY", "2g"),
            "spark.sql.adaptive.enabled": "true",
        },
    )
