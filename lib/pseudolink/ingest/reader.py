"""Read the files of one kind of a delivery, number their lines, check and validate them.

1. **Headers** on the driver: the first line of every file (decompressed), checked against
   the schema; an empty file or a wrong header stops the delivery before Spark reads it.
2. **One pass** over the data: every line is read, split, typed and checked (every rule
   but the duplicate key) and written, with its file, split offset and row id, to a
   Parquet staging folder (``bronze/_staging/<delivery_id>/<kind>``). The raw text is kept
   only for lines that may be quarantined (see :func:`select_staged`).
3. From the staging folder (columnar: each step reads only the columns it needs): the
   line count and first id of every split give exact line numbers (:mod:`.lines`) and
   the row count per file; the duplicate keys (:func:`.validate.with_duplicates`); the
   count per file and reason, reconciled with the manifest.

Nothing is written to the bronze tables here; the stage writes them from the staging
folder once every kind of the delivery is read and reconciled, then removes it. Earlier
versions cached the lines and the validated rows in memory instead: for the wide Statbel
files that cache cost more than the parsing (docs/ingest.md, "Performance").
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from pseudolink.errors import InputError
from pseudolink.ingest.lines import (
    SplitStats,
    check_header,
    filter_data_lines,
    line_offsets,
    offsets_frame,
    split_stats_frame,
    with_line_numbers,
    with_line_source,
)
from pseudolink.ingest.manifest import ManifestFile
from pseudolink.ingest.output import counts_frame, select_staged
from pseudolink.ingest.parse import with_fields, with_period, with_values
from pseudolink.ingest.report import FileReport, fill_counts, reconcile
from pseudolink.ingest.validate import Rules, duplicate_keys, mark_duplicates, with_reason
from pseudolink.storage import HadoopFs

_FAILED_FILE = re.compile(r"reading file (\S+?)\.?\s")
_CAUSE = re.compile(r"Caused by: ([^\n]+)")


@dataclass
class PreparedKind:
    """A kind's validated rows (read from its staging folder) and its files' counts, ready
    to be written."""

    kind: str
    validated: DataFrame
    files: list[FileReport]
    seconds: float
    read_seconds: float = 0.0  # reading, parsing, checking and staging the lines
    staging: str = ""
    repeated: DataFrame | None = None  # the duplicate keys (cached)

    def release(self) -> None:
        """Drop the cached duplicate keys (the stage removes the staging folder)."""
        if self.repeated is not None:
            self.repeated.unpersist()


def read_kind(
    spark: SparkSession,
    folder: str,
    files: list[ManifestFile],
    rules: Rules,
    staging: str,
) -> PreparedKind:
    """Read, number, check (empty file, header, row count) and validate one kind."""
    started = time.monotonic()
    kind = files[0].kind
    fs = HadoopFs(spark)
    paths = [f"{folder}/{f.name}" for f in files]
    for path in paths:
        check_header(path, _first_line(fs, path), rules.schema.names)
    text = spark.read.option("lineSep", "\n").text(paths)
    staged_frame = (
        with_line_source(text)
        .transform(with_fields)
        .transform(with_values, rules.schema)
        .transform(with_period, rules.schema)
        .transform(with_reason, rules)
        .transform(select_staged, rules.schema)
    )
    _guarded(lambda: staged_frame.write.mode("overwrite").parquet(staging), folder, kind)
    read_seconds = time.monotonic() - started
    staged = spark.read.parquet(staging)
    stats = [
        SplitStats(r["_file"], r["_block"], r["_first_id"], r["_lines"])
        for r in split_stats_frame(staged, first_line=False).collect()
    ]
    offsets, totals, _ = line_offsets(stats)
    for f in files:
        found = totals.get(f.name, 0) - 1
        if found != f.rows:
            raise InputError(
                f"{folder}/{f.name}: row count mismatch: manifest says {f.rows} rows, "
                f"the file has {found} data lines"
            )
    numbered = with_line_numbers(staged, offsets_frame(spark, offsets), keep=staged.columns)
    lines = filter_data_lines(numbered)
    # The repeated keys are few: kept in memory for the counts and both writes.
    repeated = duplicate_keys(lines, rules.schema.key).cache()
    validated = mark_duplicates(lines, repeated, rules.schema.key)
    counts = [(r["file"], r["reason"], r["lines"]) for r in counts_frame(validated).collect()]
    reports = [FileReport(f.name, kind, f.rows) for f in files]
    fill_counts(reports, counts)
    reconcile(folder, reports)
    seconds = time.monotonic() - started
    for r in reports:
        r.seconds = seconds
    return PreparedKind(kind, validated, reports, seconds, read_seconds, staging, repeated)


def _first_line(fs: HadoopFs, path: str) -> str | None:
    try:
        return fs.first_line(path)
    except Exception as exc:  # noqa: BLE001 - a JVM I/O error: name the file, not a trace
        java = getattr(exc, "java_exception", None)
        cause = str(java.toString()) if java is not None else type(exc).__name__
        raise InputError(
            f"{path}: cannot be read ({cause[:200]}); a truncated or corrupt gzip file?"
        ) from None


def _guarded(action, folder: str, kind: str):  # noqa: ANN001, ANN202 - a thunk and its result
    """Run the first action on the files: a file Spark cannot read becomes an InputError."""
    try:
        return action()
    except Exception as exc:
        text = str(exc)
        if "FAILED_READ_FILE" not in text and "EOFException" not in text:
            raise
        match = _FAILED_FILE.search(text)
        name = match.group(1).rsplit("/", 1)[-1] if match else f"a {kind} file"
        cause = _CAUSE.search(text)
        why = cause.group(1).strip() if cause else "read error"
        raise InputError(
            f"{folder}/{name}: cannot be read ({why}); a truncated or corrupt gzip file?"
        ) from None
