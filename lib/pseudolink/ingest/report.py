"""Per-delivery results: what each file held, what was accepted and why lines were not.

The stage checks for every file that the manifest's row count equals accepted plus
quarantined (the reconciliation), writes the numbers to ``bronze/_ingest_report`` and
``bronze/_reports/<delivery_id>.json``, and returns them to the job.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from pseudolink.errors import InputError

REPORT_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType(), False),
        T.StructField("delivery_id", T.StringType(), False),
        T.StructField("kind", T.StringType(), False),
        T.StructField("file", T.StringType(), False),
        T.StructField("manifest_rows", T.LongType(), False),
        T.StructField("accepted", T.LongType(), False),
        T.StructField("quarantined", T.LongType(), False),
        T.StructField("quarantined_by_reason", T.MapType(T.StringType(), T.LongType()), False),
        T.StructField("ingest_time", T.TimestampType(), False),
    ]
)
LEDGER_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType(), False),
        T.StructField("delivery_id", T.StringType(), False),
        T.StructField("manifest_sha256", T.StringType(), False),
        T.StructField("files", T.IntegerType(), False),
        T.StructField("rows", T.LongType(), False),
        T.StructField("accepted", T.LongType(), False),
        T.StructField("quarantined", T.LongType(), False),
        T.StructField("completed_at", T.TimestampType(), False),
    ]
)


@dataclass
class FileReport:
    name: str
    kind: str
    manifest_rows: int
    accepted: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())


@dataclass
class DeliveryReport:
    """The outcome of one delivery: ``ingested`` or ``skipped`` (already in the ledger)."""

    source: str
    delivery_id: str
    status: str
    manifest_sha256: str
    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0
    # Wall time per phase: parse (the one pass that reads, decompresses, splits, types and
    # checks every line and stages it), reconcile (line numbers, duplicate keys, counts per
    # file and reason against the manifest) and write (bronze, quarantine, report, ledger).
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(f.manifest_rows for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            for reason, n in f.quarantined.items():
                out[reason] = out.get(reason, 0) + n
        return dict(sorted(out.items()))

    def summary(self) -> str:
        """One line for the terminal."""
        if self.status == "skipped":
            return f"{self.source}/{self.delivery_id}: skipped (already ingested)"
        reasons = ", ".join(f"{r} {n}" for r, n in self.quarantined.items()) or "none"
        total = sum(self.quarantined.values())
        return (
            f"{self.source}/{self.delivery_id}: {len(self.files)} files, {self.rows} rows, "
            f"{self.accepted} accepted, {total} quarantined ({reasons}) in {self.seconds:.1f} s"
        )

    def to_json(self) -> str:
        data = asdict(self)
        data.update(rows=self.rows, accepted=self.accepted, quarantined=self.quarantined)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def fill_counts(files: list[FileReport], counts: list[tuple[str, str | None, int]]) -> None:
    """Put (file, reason or None, lines) counts into the file reports."""
    by_name = {f.name: f for f in files}
    for name, reason, lines in counts:
        report = by_name[name]
        if reason is None:
            report.accepted += lines
        else:
            report.quarantined[reason] = report.quarantined.get(reason, 0) + lines
    for report in files:
        report.quarantined = dict(sorted(report.quarantined.items()))


def reconcile(folder: str, files: list[FileReport]) -> None:
    """Manifest rows = accepted + quarantined, for every file; else the delivery fails."""
    for f in files:
        if f.manifest_rows != f.accepted + f.quarantined_total:
            raise InputError(
                f"{folder}/{f.name}: reconciliation failed: manifest says {f.manifest_rows} "
                f"rows, found {f.accepted} accepted + {f.quarantined_total} quarantined"
            )


def report_frame(
    spark: SparkSession, report: DeliveryReport, ingest_time: dt.datetime
) -> DataFrame:
    rows = [
        (
            report.source,
            report.delivery_id,
            f.kind,
            f.name,
            f.manifest_rows,
            f.accepted,
            f.quarantined_total,
            f.quarantined,
            ingest_time,
        )
        for f in report.files
    ]
    return spark.createDataFrame(rows, REPORT_SCHEMA)


def ledger_frame(
    spark: SparkSession, report: DeliveryReport, completed_at: dt.datetime
) -> DataFrame:
    row = (
        report.source,
        report.delivery_id,
        report.manifest_sha256,
        len(report.files),
        report.rows,
        report.accepted,
        sum(report.quarantined.values()),
        completed_at,
    )
    return spark.createDataFrame([row], LEDGER_SCHEMA)
