"""Every input line with its file and exact line number, and the header check.

Line numbers: 1 is the header, data lines start at 2, counted in ``\\n``-separated lines of
the decompressed file (the numbers an editor or ``sed -n 2p`` shows).

How they are exact without a shuffle: Spark reads a file as one or more splits (a gzip
file is never split; a plain file may be). Within a partition, rows come in file order
and ``monotonically_increasing_id`` numbers them consecutively, so the rows of one split
have consecutive ids. One small aggregation gives each split's first id and row count;
the driver turns those into "lines before this split" (splits ordered by their byte
offset in the file); a broadcast join then gives every row
``lines_before + (id - first_id) + 1``. The ids are only stable for one physical plan,
so the stage caches the lines before taking the statistics and numbering them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.errors import InputError
from pseudolink.masking import mask_insz

OFFSETS_SCHEMA = T.StructType(
    [
        T.StructField("_file", T.StringType(), False),
        T.StructField("_block", T.LongType(), False),
        T.StructField("_first_id", T.LongType(), False),
        T.StructField("_before", T.LongType(), False),
    ]
)


@dataclass(frozen=True)
class SplitStats:
    """One split of one file: its byte offset, first row id, lines, and its first line
    (for the split at offset 0: the header)."""

    file: str
    block: int
    first_id: int
    lines: int
    first_line: str | None = None


def with_line_source(text: DataFrame) -> DataFrame:
    """From ``spark.read.text``: the raw line, its file name, split offset and row id."""
    return text.select(
        F.col("value").alias("_raw"),
        F.col("_metadata.file_name").alias("_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_id"),
    )


def split_stats_frame(lines: DataFrame, first_line: bool = True) -> DataFrame:
    """One row per split: file, offset, first id, line count and (with ``first_line``) its
    first line (one pass)."""
    aggs = [F.min("_id").alias("_first_id"), F.count(F.lit(1)).alias("_lines")]
    if first_line:
        aggs.append(F.min_by("_raw", "_id").alias("_first_line"))
    return lines.groupBy("_file", "_block").agg(*aggs)


def line_offsets(
    stats: list[SplitStats],
) -> tuple[list[tuple[str, int, int, int]], dict[str, int], dict[str, str]]:
    """Per split (file, block, first id, lines before it); lines and header per file."""
    offsets, totals, headers = [], {}, {}
    for s in sorted(stats, key=lambda s: (s.file, s.block)):
        before = totals.get(s.file, 0)
        offsets.append((s.file, s.block, s.first_id, before))
        totals[s.file] = before + s.lines
        if s.block == 0:
            headers[s.file] = s.first_line
    return offsets, totals, headers


def with_line_numbers(
    lines: DataFrame, offsets: DataFrame, keep: list[str] | None = None
) -> DataFrame:
    """Add ``_line`` (1 = header) by a broadcast join with the split offsets; the columns
    ``keep`` (default ``_raw``, ``_file``) come along, the split offset and id do not."""
    keep = [c for c in (keep or ["_raw", "_file"]) if c not in ("_block", "_id")]
    joined = lines.alias("l").join(
        F.broadcast(offsets.alias("o")), on=["_file", "_block"], how="inner"
    )
    line = (F.col("o._before") + (F.col("l._id") - F.col("o._first_id")) + 1).alias("_line")
    return joined.select(*[F.col(c) for c in keep], line)


def offsets_frame(spark: SparkSession, offsets: list[tuple[str, int, int, int]]) -> DataFrame:
    return spark.createDataFrame(offsets, OFFSETS_SCHEMA)


def filter_data_lines(numbered: DataFrame) -> DataFrame:
    """The data lines (line 2 on): the header was checked on its own."""
    return numbered.filter(F.col("_line") > 1)


def check_header(where: str, found: str | None, expected: list[str]) -> None:
    """The header must be the schema's column names joined by ';'."""
    want = ";".join(expected)
    if found is None:
        raise InputError(f"{where}: empty file (expected the header line {want!r})")
    if found == want:
        return
    hint = ""
    if found.startswith("\ufeff"):
        hint = " (the file starts with a UTF-8 byte-order mark; expected none)"
    elif found.endswith("\r"):
        hint = " (line ends are \\r\\n; expected \\n)"
    else:
        counts = {sep: found.count(sep) for sep in (",", "\t", "|")}
        sep, n = max(counts.items(), key=lambda kv: kv[1])
        if n >= found.count(";") and n > 0:
            hint = f" (wrong delimiter: fields are separated by {sep!r}, expected ';')"
    raise InputError(f"{where}: wrong header{hint}: expected {want!r}, found {described(found)}")


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def described(found: str) -> str:
    """What the first line holds, without its content unless it is column names: a data
    row (a file without a header) is never echoed, not even masked."""
    line = found.lstrip("\ufeff").rstrip("\r")
    fields = re.split(r"[;,\t|]", line)
    if line and len(line) <= 300 and all(_NAME.match(f) for f in fields):
        return repr(mask_insz(found))
    return f"a line of {len(fields)} fields that are not column names (a data row? not shown)"
