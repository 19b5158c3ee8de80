"""The key table: token -> sequence number, a Delta table in the trusted area.

One table per domain (``trusted/keys/persons``, ``trusted/keys/households``), columns
``token`` (HMAC-SHA256 hex), ``seq`` (long, 1..N), ``key_id`` (which secret made the
token) and ``assigned_at``.

Numbers carry no information. New tokens are numbered ``max(seq) + 1 ...`` in the order
of ``sha2(key || token)``, the key being a 32-byte HKDF output of the project secret for
this domain (:meth:`pseudolink.keys.keystore.Keystore.numbering_key`). Without the secret
the order is a uniformly random permutation: not INSZ order, birth date, sex, population
or input order (tested statistically). With it the numbering is the same in every rerun:
a run killed before its MERGE and run again gives exactly the numbers an uninterrupted
run gives. Ordering by a value computed from the row (and not by ``rand()``) also keeps
the numbering the same if Spark recomputes a partition. The table is updated with a Delta
MERGE that only inserts unknown tokens: known persons keep their number in every rerun,
and a crashed run leaves either the old table or the new one.
"""

from __future__ import annotations

import datetime as dt

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pseudolink.errors import PseudolinkError

DOMAINS = ("persons", "households")


def read_key_table(spark: SparkSession, path: str) -> DataFrame | None:
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return spark.read.format("delta").load(path)


def number_new_tokens(tokens: DataFrame, known: DataFrame | None, order_hex: str) -> DataFrame:
    """Rows (token, seq) for the distinct tokens not in ``known``, numbered after its
    maximum in the keyed random order of ``sha2(order_key || token)``."""
    new = tokens.select("token").distinct()
    start = F.lit(0).cast("long")
    if known is not None:
        new = new.join(known.select("token"), "token", "left_anti")
        top = known.agg(F.max("seq")).first()[0]
        start = F.lit(int(top or 0)).cast("long")
    order = F.sha2(F.concat(F.unhex(F.lit(order_hex)), F.unhex(F.col("token"))), 256)
    # One ordered window over the new tokens only: a few million rows at most per run.
    rank = F.row_number().over(Window.orderBy(order))
    return new.select("token", (start + rank).alias("seq"))


def assign(
    spark: SparkSession, path: str, tokens: DataFrame, key_id: str, order_key: bytes
) -> dict[str, int]:
    """Give every unknown token of ``tokens`` a new sequence number (MERGE), in the order
    ``order_key`` gives; returns the counts before and added."""
    known = read_key_table(spark, path)
    if known is not None:
        check_key_id(known, key_id, path)
    numbered = number_new_tokens(tokens, known, order_key.hex()).select(
        "token",
        "seq",
        F.lit(key_id).alias("key_id"),
        F.lit(dt.datetime.now(dt.UTC)).alias("assigned_at"),
    )
    before = 0 if known is None else known.count()
    if known is None:
        numbered.write.format("delta").save(path)
    else:
        (
            DeltaTable.forPath(spark, path)
            .alias("k")
            .merge(numbered.alias("n"), "k.token = n.token")
            .whenNotMatchedInsertAll()
            .execute()
        )
    after = spark.read.format("delta").load(path).count()
    return {"known": before, "added": after - before, "total": after}


def key_ids(table: DataFrame) -> list[str]:
    """The key ids the table's tokens were made with (one, unless a rotation broke)."""
    return sorted(r[0] for r in table.select("key_id").distinct().limit(3).collect())


def check_key_id(table: DataFrame, key_id: str, path: str) -> None:
    """Every token of the table must come from the keystore's current secret."""
    ids = key_ids(table)
    if ids and ids != [key_id]:
        raise PseudolinkError(
            f"{path}: key table made with key {', '.join(sorted(ids))}, the keystore holds "
            f"key {key_id}: wrong keystore, or an unfinished `keys rotate` (run it again)"
        )


def integrity(table: DataFrame) -> dict[str, int]:
    """Rows, distinct tokens, distinct numbers and the largest number (one aggregation)."""
    row = table.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_distinct("token").alias("tokens"),
        F.count_distinct("seq").alias("numbers"),
        F.max("seq").alias("max_seq"),
        F.min("seq").alias("min_seq"),
    ).first()
    return {k: int(row[k] or 0) for k in ("rows", "tokens", "numbers", "max_seq", "min_seq")}
