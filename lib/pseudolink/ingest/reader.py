"""Read the files of one kind of a delivery, number their lines, check and validate them.

One read of all the kind's files. The raw lines are cached for the two passes over them:
one aggregation (per split: line count, first id, first line = the header) and the
validation. The validated rows are cached for the counting aggregation and the writes.
Passes over the data: read + split statistics, validation + counts, one per write.
Nothing is written here.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from pyspark import StorageLevel
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
from pseudolink.ingest.output import counts_frame, select_validated
from pseudolink.ingest.parse import with_fields, with_period, with_values
from pseudolink.ingest.report import FileReport, fill_counts, reconcile
from pseudolink.ingest.validate import Rules, with_duplicates, with_reason

_FAILED_FILE = re.compile(r"reading file (\S+?)\.?\s")
_CAUSE = re.compile(r"Caused by: ([^\n]+)")


@dataclass
class PreparedKind:
    """A kind's validated rows (cached) and its files' counts, ready to be written."""

    kind: str
    lines: DataFrame
    validated: DataFrame
    files: list[FileReport]
    seconds: float
    read_seconds: float = 0.0  # reading, decompressing and numbering the lines

    def release(self) -> None:
        """Drop both caches, the dependent one first (so Spark does not rebuild it)."""
        self.validated.unpersist()
        self.lines.unpersist()


def read_kind(
    spark: SparkSession,
    folder: str,
    files: list[ManifestFile],
    rules: Rules,
    level: StorageLevel,
) -> PreparedKind:
    """Read, number, check (empty file, header, row count) and validate one kind."""
    started = time.monotonic()
    kind = files[0].kind
    text = spark.read.option("lineSep", "\n").text([f"{folder}/{f.name}" for f in files])
    lines = with_line_source(text).persist(level)
    validated = None
    try:
        rows = _guarded(lambda: split_stats_frame(lines).collect(), folder, kind)
        read_seconds = time.monotonic() - started
        stats = [
            SplitStats(r["_file"], r["_block"], r["_first_id"], r["_lines"], r["_first_line"])
            for r in rows
        ]
        offsets, totals, headers = line_offsets(stats)
        numbered = with_line_numbers(lines, offsets_frame(spark, offsets))
        for f in files:
            check_header(f"{folder}/{f.name}", headers.get(f.name), rules.schema.names)
            found = totals.get(f.name, 0) - 1
            if found != f.rows:
                raise InputError(
                    f"{folder}/{f.name}: row count mismatch: manifest says {f.rows} rows, "
                    f"the file has {found} data lines"
                )
        validated = (
            filter_data_lines(numbered)
            .transform(with_fields)
            .transform(with_values, rules.schema)
            .transform(with_period, rules.schema)
            .transform(with_reason, rules)
            .transform(with_duplicates, rules.schema.key)
            .transform(select_validated, rules.schema)
            .persist(level)
        )
        counts = [(r["file"], r["reason"], r["lines"]) for r in counts_frame(validated).collect()]
        reports = [FileReport(f.name, kind, f.rows) for f in files]
        fill_counts(reports, counts)
        reconcile(folder, reports)
    except BaseException:
        # On success both caches stay until the kind is written (PreparedKind.release).
        if validated is not None:
            validated.unpersist()
        lines.unpersist()
        raise
    seconds = time.monotonic() - started
    for r in reports:
        r.seconds = seconds
    return PreparedKind(kind, lines, validated, reports, seconds, read_seconds)


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
