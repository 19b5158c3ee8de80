"""Which pipeline stages are done and still up to date, so a rerun skips them.

After each stage the pipeline writes a small marker, ``trusted/_stages/<stage>.json``:
the stage's fingerprint, what it wrote and the summary lines it printed. The fingerprint
is a SHA-256 over everything the stage's output depends on: the fingerprint of the stage
before it, the deliveries in the ingest ledger (id and manifest SHA-256), the config
section the stage reads, and for pseudonymise the key id, for the release the files of
``conf/release.yaml`` and the code lists. A rerun skips a stage whose marker has the same
fingerprint and whose outputs are all still there; a stage that runs first removes its
own marker and those of every stage after it, so a run killed half-way through a stage
leaves that stage (and everything after it) to be done again, and nothing before it.

The ingest itself is incremental through its ledger and always runs; generate runs only
on an empty inbox. A run that is killed and started again therefore ends in the state of
one uninterrupted run (tests/test_faults.py), and a second run on unchanged inputs does
no work at all: it prints the first run's summary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pseudolink.cli import JobContext
from pseudolink.ingest.fs import HadoopFs
from pseudolink.ingest.tables import LEDGER

STATE = "_stages"
ORDER = ("cohorts", "link", "pseudonymise", "release")


def fingerprint(*parts: Any) -> str:
    """A SHA-256 over JSON of the parts (dataclasses as dicts, keys sorted)."""

    def plain(p: Any) -> Any:
        return asdict(p) if hasattr(p, "__dataclass_fields__") else p

    text = json.dumps([plain(p) for p in parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def files_digest(paths: Iterable[Path]) -> str:
    """A SHA-256 over the names and bytes of files (config files the output depends on)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ledger_deliveries(ctx: JobContext) -> list[tuple[str, str, str]]:
    """(source, delivery_id, manifest SHA-256) of every delivery in the ingest ledger."""
    from delta.tables import DeltaTable

    path = f"{ctx.config.zone('bronze')}/{LEDGER}"
    if not DeltaTable.isDeltaTable(ctx.spark, path):
        return []
    rows = (
        ctx.spark.read.format("delta").load(path).select("source", "delivery_id", "manifest_sha256")
    )
    return sorted(tuple(r) for r in rows.collect())


@dataclass
class Marker:
    """What a finished stage left: its fingerprint, outputs and printed summary."""

    stage: str
    fingerprint: str
    outputs: list[str]
    lines: list[str]
    finished: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PipelineState:
    """The markers under ``trusted/_stages/``."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.fs = HadoopFs(ctx.spark)
        self.folder = f"{ctx.config.zone('trusted')}/{STATE}"

    def _path(self, stage: str) -> str:
        return f"{self.folder}/{stage}.json"

    def read(self, stage: str) -> Marker | None:
        path = self._path(stage)
        if not self.fs.exists(path):
            return None
        try:
            return Marker(**json.loads(self.fs.read_bytes(path)))
        except (ValueError, TypeError):
            return None  # a damaged marker: the stage is simply done again

    def up_to_date(self, stage: str, fp: str) -> Marker | None:
        """The stage's marker if it has this fingerprint and its outputs all exist."""
        marker = self.read(stage)
        if marker is None or marker.fingerprint != fp:
            return None
        if not all(self.fs.exists(uri) for uri in marker.outputs):
            return None
        return marker

    def invalidate(self, stage: str) -> None:
        """Remove the markers of ``stage`` and of every stage after it."""
        for later in ORDER[ORDER.index(stage) :]:
            if self.fs.exists(self._path(later)):
                self.fs.delete(self._path(later))

    def write(self, marker: Marker) -> None:
        marker.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.fs.write_text(self._path(marker.stage), json.dumps(asdict(marker), indent=2))

    def run(
        self,
        stage: str,
        fp: str,
        work: Callable[[], tuple[list[str], list[str], dict[str, Any]]],
    ) -> Marker:
        """Skip ``stage`` if it is up to date; otherwise run ``work`` (which returns the
        summary lines, the outputs and extra facts) and record it as done."""
        done = self.up_to_date(stage, fp)
        if done is not None:
            self.ctx.log.info(
                "pipeline: %s is up to date (same inputs as the run finished %s): skipped",
                stage,
                done.finished,
            )
            return done
        self.invalidate(stage)
        lines, outputs, extra = work()
        marker = Marker(stage, fp, outputs, lines, extra=extra)
        self.write(marker)
        return marker
