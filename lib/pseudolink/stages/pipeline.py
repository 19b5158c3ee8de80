"""The pipeline as data: its stages in order, and which are done and still up to date.

:data:`STAGES` declares every stage: its name, the config section it reads, its step
function and (for the stages the pipeline can skip) the outputs that mark it done.
:func:`run` goes through them in order; ``stop_after=STAGE`` stops after that stage, and a
later run continues where it stopped.

Markers. After each of cohorts, link, pseudonymise and release the pipeline writes a
small marker, ``trusted/_stages/<stage>.json``: the stage's fingerprint, what it wrote
and the summary lines it printed. The fingerprint is a SHA-256 over everything the
stage's output depends on, taken from the stage's declaration: the fingerprint of the
marked stage before it, the deliveries in the ingest ledger it reads (Statbel's for
cohorts, all for link), its config section, and for the release the files of
``conf/release.yaml`` and the code lists. A rerun skips a stage whose marker has the same
fingerprint and whose outputs are all still there; a stage that runs removes its own
marker and those of every marked stage after it first, so a run killed half-way through
a stage leaves that stage (and everything after it) to be done again, and nothing before.

The ingest is incremental through its ledger and always runs; generate runs only on an
empty inbox (or after an interrupted generation). A run that is killed and started again
therefore ends in the state of one uninterrupted run (tests/test_faults.py), and a second
run on unchanged inputs does no work: it prints the first run's summary.

The last two stages: deliver (the release encrypted into ``outbox/<release-id>/``, and
uploaded when ``deliver.sftp`` is set), then purge, which refuses unless that package is
complete (it destroys the plaintext release with the KSZ and VDAB data: docs/purge.md).
After a purge, the stages up to the release finished before it: they are skipped; deliver
checks and reuses the package of the release the purge marker names (and uploads it, if
configured), and an interrupted purge is finished.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pseudolink.catalog import LEDGER, Catalog
from pseudolink.cli import JobContext
from pseudolink.config import uri_to_local_path
from pseudolink.errors import InputError
from pseudolink.purged import purge_state
from pseudolink.stages import (
    cohorts,
    deliver,
    generate,
    ingest,
    link,
    pseudonymise,
    purge,
    release,
    selfcheck,
)
from pseudolink.storage import HadoopFs, is_delta, utc_now


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline.

    ``step(ctx, run)`` does the work; a marked stage's step returns (summary lines, extra
    facts) and ``outputs(catalog, extra)`` names what it wrote: its marker holds them, and
    it is done while they all exist. ``deliveries`` ("statbel" or "all") and ``inputs``
    add what else its output depends on to its fingerprint."""

    name: str
    section: str | None
    step: Callable[..., Any]
    outputs: Callable[[Catalog, dict], list[str]] | None = None
    deliveries: str | None = None
    inputs: Callable[[JobContext], Any] | None = None

    @property
    def marked(self) -> bool:
        return self.outputs is not None


def rules_fingerprint(ctx: JobContext) -> str:
    """The config files a release depends on: conf/release.yaml and the code lists."""
    conf = Path(ctx.config.conf_dir)
    return files_digest([conf / "release.yaml", *sorted((conf / "codes").glob("*.csv"))])


def _selfcheck(ctx: JobContext, run: PipelineRun) -> None:
    selfcheck.run(ctx)


def _generate(ctx: JobContext, run: PipelineRun) -> bool:
    """Generate the demo's deliveries into an empty inbox; False: skipped."""
    inbox = uri_to_local_path(ctx.config.zone("inbox"))
    if generate.inbox_has_deliveries(inbox) and not generate.interrupted(ctx):
        ctx.log.info("pipeline: generate skipped, the inbox already holds deliveries")
        return False
    generate.run(ctx, force=True)


def _ingest(ctx: JobContext, run: PipelineRun) -> None:
    run.ingest = ingest.run(ctx)


def _purge(ctx: JobContext, run: PipelineRun) -> None:
    purge.run(ctx, run.release_id)


def _deliver(ctx: JobContext, run: PipelineRun) -> None:
    run.delivered = deliver.run(ctx, run.release_id)


STAGES: tuple[Stage, ...] = (
    Stage("selfcheck", None, _selfcheck),
    Stage("generate", "generator", _generate),
    Stage("ingest", "ingest", _ingest),
    Stage("cohorts", "cohorts", cohorts.pipeline_step, cohorts.outputs, deliveries="statbel"),
    Stage("link", "link", link.pipeline_step, link.outputs, deliveries="all"),
    Stage("pseudonymise", "pseudonymise", pseudonymise.pipeline_step, pseudonymise.outputs),
    Stage("release", None, release.pipeline_step, release.outputs, inputs=rules_fingerprint),
    # Deliver before purge: purge destroys the plaintext release and refuses unless its
    # encrypted package is complete in the outbox (docs/purge.md).
    Stage("deliver", "deliver", _deliver),
    Stage("purge", None, _purge),
)
NAMES = tuple(s.name for s in STAGES)
# The stages that made the release: on a purged root they finished before the purge and
# are skipped (selfcheck still runs; deliver reuses the package; purge finishes if started).
BEFORE_PURGE = NAMES[: NAMES.index("deliver")]


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
    path = ctx.catalog.bronze(LEDGER)
    if not is_delta(ctx.spark, path):
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


class Markers:
    """The markers under ``trusted/_stages/``."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.fs = HadoopFs(ctx.spark)

    def _path(self, stage: str) -> str:
        return self.ctx.catalog.stage_marker(stage)

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
        """Remove the markers of ``stage`` and of every marked stage after it."""
        for later in STAGES[NAMES.index(stage) :]:
            if later.marked and self.fs.exists(self._path(later.name)):
                self.fs.delete(self._path(later.name))

    def write(self, marker: Marker) -> None:
        marker.finished = utc_now()
        self.fs.write_text(self._path(marker.stage), json.dumps(asdict(marker), indent=2))


@dataclass
class PipelineRun:
    """What one run of the pipeline did: the stages it ran (not skipped), the ingest
    reports, the markers of the marked stages, the release and what was delivered."""

    ran: list[str] = field(default_factory=list)
    ingest: list = field(default_factory=list)
    markers: dict[str, Marker] = field(default_factory=dict)
    release_id: str | None = None
    delivered: dict[str, Any] | None = None
    stopped_after: str | None = None
    purged: dict[str, Any] | None = None
    summarised: bool = False

    @property
    def verdict(self) -> str | None:
        marker = self.markers.get("release")
        return marker.extra["verdict"] if marker else None


def run(ctx: JobContext, stop_after: str | None = None) -> PipelineRun:
    """Every stage of :data:`STAGES` in order, up to ``stop_after`` (default: all)."""
    if stop_after is not None and stop_after not in NAMES:
        raise InputError(f"--stop-after {stop_after}: expected one of {', '.join(NAMES)}")
    ctx.log.info("pipeline: data root %s", ctx.config.root)
    result = PipelineRun()
    state = purge_state(ctx)
    markers = Markers(ctx)
    previous = ""  # the fingerprint of the marked stage before
    for stage in STAGES:
        if state is not None and stage.name in BEFORE_PURGE[1:]:
            if stage.name == "release":  # finished before the purge
                _after_purge(ctx, state, result)
        elif stage.marked:
            previous = _marked(ctx, stage, markers, previous, result)
        elif stage.name == "purge" and state is not None and state["state"] == "done":
            pass  # purged before: nothing is left to destroy
        elif stage.step(ctx, result) is not False:
            result.ran.append(stage.name)
        if state is None and stage.name in ("release", stop_after) and not result.summarised:
            _summary(ctx, result)
        if stage.name == stop_after:
            result.stopped_after = stop_after
            ctx.log.info(
                "pipeline: stopped after %s (--stop-after); run again to go on", stop_after
            )
            break
    result.purged = purge_state(ctx)
    ctx.log.info("pipeline: done in %s", ctx.elapsed())
    return result


def _marked(
    ctx: JobContext, stage: Stage, markers: Markers, previous: str, result: PipelineRun
) -> str:
    """Skip ``stage`` if its marker is up to date; otherwise run it and mark it done.
    Returns its fingerprint (the next marked stage's chain)."""
    parts: list[Any] = [stage.name, previous]
    if stage.deliveries:
        found = ledger_deliveries(ctx)
        parts.append([d for d in found if stage.deliveries == "all" or d[0] == stage.deliveries])
    if stage.section:
        parts.append(getattr(ctx.config, stage.section))
    if stage.inputs:
        parts.append(stage.inputs(ctx))
    fp = fingerprint(*parts)
    done = markers.up_to_date(stage.name, fp)
    if done is not None:
        ctx.log.info(
            "pipeline: %s is up to date (same inputs as the run finished %s): skipped",
            stage.name,
            done.finished,
        )
    else:
        markers.invalidate(stage.name)
        lines, extra = stage.step(ctx)
        done = Marker(stage.name, fp, stage.outputs(ctx.catalog, extra), lines, extra=extra)
        markers.write(done)
        result.ran.append(stage.name)
    result.markers[stage.name] = done
    if stage.name == "release":
        folder = done.extra["folder"].rstrip("/")
        result.release_id = done.extra.get("release_id") or folder.rsplit("/", 1)[-1]
    return fp


def _after_purge(ctx: JobContext, state: dict[str, Any], result: PipelineRun) -> None:
    result.release_id = state["release_id"]
    ctx.log.info(
        "pipeline: the KSZ and VDAB data were %s by purge (%s): generate, ingest, "
        "cohorts, link, pseudonymise and release finished before it: skipped",
        "destroyed" if state["state"] == "done" else "partly destroyed",
        ctx.catalog.purge_marker(),
    )


def _summary(ctx: JobContext, result: PipelineRun) -> None:
    """The summaries of the ingest and of every marked stage, run or skipped."""
    result.summarised = True
    for report in result.ingest:
        ctx.log.info("pipeline: ingest %s", report.summary())
    for marker in result.markers.values():
        for line in marker.lines:
            ctx.log.info("pipeline: %s", line)
    ctx.log.info(
        "pipeline: output in %s (bronze/, trusted/populations/, trusted/linked/, "
        "trusted/pseudonymised/, release/, outbox/requests/)",
        ctx.config.root,
    )
