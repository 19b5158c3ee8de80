"""Ingest stage: every new delivery in ``inbox/`` becomes typed bronze Delta tables.

Per delivery: manifest and folder checks, the ledger, then per file kind one read that
numbers, checks and validates every line (:mod:`pseudolink.ingest.reader`); only when
every kind is read and reconciled are the tables written, the ledger entry last.
Details and design: docs/ingest.md.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from functools import reduce

from pseudolink.catalog import INGEST_REPORT, LEDGER, QUARANTINE, REPORTS_DIR, STAGING
from pseudolink.cli import JobContext
from pseudolink.errors import InputError
from pseudolink.ingest.manifest import MANIFEST, Manifest, check_listing, parse_manifest
from pseudolink.ingest.output import bronze_frame, quarantine_frame
from pseudolink.ingest.reader import PreparedKind, read_kind
from pseudolink.ingest.report import DeliveryReport, ledger_frame, report_frame
from pseudolink.ingest.settings import IngestSettings
from pseudolink.ingest.tables import append, ledger_entry, replace_delivery
from pseudolink.ingest.validate import Rules
from pseudolink.purged import refuse_if_purged
from pseudolink.schemas import SOURCES, SourceSchema, load_codelist, load_source
from pseudolink.storage import HadoopFs

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def run(ctx: JobContext, delivery: str | None = None) -> list[DeliveryReport]:
    """Ingest every delivery of the inbox not yet in the ledger (or only ``delivery``)."""
    settings = ctx.config.ingest
    fs = HadoopFs(ctx.spark)
    found = discover(fs, ctx.config.zone("inbox"), delivery)
    if not found:
        ctx.log.info("ingest: no deliveries in %s", ctx.config.zone("inbox"))
    reports = [ingest_delivery(ctx, fs, settings, source, did) for source, did in found]
    done = [r for r in reports if r.status == "ingested"]
    ctx.audit.add(
        "ingest",
        inputs=[f"inbox/{r.source}/{r.delivery_id}" for r in done],
        outputs=sorted({f"bronze/{r.source}" for r in done}) + (["bronze/_ledger"] if done else []),
        counts={
            r.delivery_id: {"rows": r.rows, "accepted": r.accepted, "quarantined": r.quarantined}
            for r in done
        },
        skipped=[r.delivery_id for r in reports if r.status != "ingested"],
    )
    return reports


def discover(fs: HadoopFs, inbox: str, delivery: str | None) -> list[tuple[str, str]]:
    """The (source, delivery_id) folders of the inbox, sorted; unknown sources are errors."""
    if not fs.is_dir(inbox):
        raise InputError(f"{inbox}: no inbox folder (expected inbox/<source>/<delivery_id>/)")
    found: list[tuple[str, str]] = []
    for entry in fs.list(inbox):
        if not entry.is_dir or entry.name not in SOURCES:
            raise InputError(
                f"{inbox}/{entry.name}: unknown source folder "
                f"(expected one of: {', '.join(SOURCES)})"
            )
        for child in fs.list(f"{inbox}/{entry.name}"):
            if not child.is_dir or not _ID.match(child.name):
                raise InputError(
                    f"{inbox}/{entry.name}/{child.name}: expected a delivery folder "
                    "named by its delivery_id (letters, digits, '.', '_', '-')"
                )
            found.append((entry.name, child.name))
    if delivery is None:
        return found
    chosen = [f for f in found if f[1] == delivery]
    if not chosen:
        known = ", ".join(d for _, d in found[:20]) or "none"
        raise InputError(f"{inbox}: no delivery '{delivery}' (found: {known})")
    return chosen


def ingest_delivery(
    ctx: JobContext, fs: HadoopFs, settings: IngestSettings, source: str, delivery_id: str
) -> DeliveryReport:
    """Check, read, validate and write one delivery; skip it if the ledger has it."""
    started = time.monotonic()
    folder = ctx.catalog.delivery(source, delivery_id)
    bronze = ctx.config.zone("bronze")
    schema = load_source(ctx.config.conf_dir, source)
    manifest = read_manifest(fs, folder, source, delivery_id, schema)
    done = ledger_entry(ctx.spark, f"{bronze}/{LEDGER}", delivery_id)
    if done is not None:
        if done["manifest_sha256"] != manifest.checksum or done["source"] != source:
            raise InputError(
                f"{folder}/{MANIFEST}: delivery '{delivery_id}' was already ingested from "
                f"{done['source']} with manifest SHA-256 {done['manifest_sha256']}, this one "
                f"has {manifest.checksum}: a changed delivery needs a new delivery_id"
            )
        ctx.log.info("ingest: %s/%s already ingested (ledger): skipped", source, delivery_id)
        return DeliveryReport(source, delivery_id, "skipped", manifest.checksum)
    refuse_if_purged(ctx, f"ingest of {source}/{delivery_id}", "a root open to deliveries")
    check_listing(manifest, fs.list(folder), folder)
    if settings.verify_checksums:
        verify_checksums(fs, folder, manifest)
    ctx.log.info(
        "ingest: %s/%s: %d files, period %s..%s",
        source,
        delivery_id,
        len(manifest.files),
        manifest.period_from,
        manifest.period_to,
    )
    staging = f"{bronze}/{STAGING}/{delivery_id}"
    prepared: list[PreparedKind] = []
    try:
        for kind in manifest.kinds():
            rules = Rules(
                schema.files[kind],
                _codes(ctx, schema, kind),
                manifest.period_from,
                manifest.period_to,
            )
            files = manifest.files_of(kind)
            prepared.append(read_kind(ctx.spark, folder, files, rules, f"{staging}/{kind}"))
            _log_files(ctx, delivery_id, prepared[-1])
        report = DeliveryReport(
            source,
            delivery_id,
            "ingested",
            manifest.checksum,
            [f for p in prepared for f in p.files],
        )
        report.phases = {
            "parse": round(sum(p.read_seconds for p in prepared), 2),
            "reconcile": round(sum(p.seconds - p.read_seconds for p in prepared), 2),
        }
        write_delivery(ctx, fs, schema, manifest, prepared, report, started)
    finally:
        for p in prepared:
            p.release()
        fs.delete(staging)
        # A rejected first delivery leaves no trace: no empty staging or bronze folder.
        for folder in (f"{bronze}/{STAGING}", bronze):
            if fs.is_dir(folder) and not fs.list(folder):
                fs.delete(folder)
    return report


def read_manifest(
    fs: HadoopFs, folder: str, source: str, delivery_id: str, schema: SourceSchema
) -> Manifest:
    uri = f"{folder}/{MANIFEST}"
    if not fs.exists(uri):
        raise InputError(f"{uri}: manifest not found (every delivery folder needs one)")
    return parse_manifest(fs.read_bytes(uri), uri, source, delivery_id, schema.files)


def verify_checksums(fs: HadoopFs, folder: str, manifest: Manifest) -> None:
    """Every file's SHA-256 must be the manifest's (over the bytes as sent)."""
    for f in manifest.files:
        found = fs.sha256(f"{folder}/{f.name}")
        if found != f.sha256:
            raise InputError(
                f"{folder}/{f.name}: SHA-256 mismatch: manifest says {f.sha256}, "
                f"the file has {found}"
            )


def write_delivery(
    ctx: JobContext,
    fs: HadoopFs,
    schema: SourceSchema,
    manifest: Manifest,
    prepared: list[PreparedKind],
    report: DeliveryReport,
    started: float,
) -> None:
    """Bronze tables, quarantine, report table and JSON, then the ledger entry (last)."""
    spark, bronze, did = ctx.spark, ctx.config.zone("bronze"), manifest.delivery_id
    now = dt.datetime.now(dt.UTC)
    write_started = time.monotonic()
    for p in prepared:
        rows = bronze_frame(p.validated, schema.files[p.kind], did, now)
        replace_delivery(rows, ctx.catalog.bronze_table(manifest.source, p.kind), did, ["period"])
    quarantined = [
        quarantine_frame(p.validated, manifest.source, did, p.kind, now) for p in prepared
    ]
    replace_delivery(
        reduce(lambda a, b: a.unionByName(b), quarantined), f"{bronze}/{QUARANTINE}", did
    )
    replace_delivery(report_frame(spark, report, now), f"{bronze}/{INGEST_REPORT}", did)
    report.seconds = time.monotonic() - started
    report.phases["write"] = round(time.monotonic() - write_started, 2)
    fs.write_text(f"{bronze}/{REPORTS_DIR}/{did}.json", report.to_json())
    append(
        ledger_frame(spark, report, dt.datetime.now(dt.UTC)),
        f"{bronze}/{LEDGER}",
    )


def _log_files(ctx: JobContext, delivery_id: str, kind: PreparedKind) -> None:
    for f in kind.files:
        ctx.log.info(
            "ingest: %s/%s: %d rows, %d accepted, %d quarantined (%s: %d files in %.1f s)",
            delivery_id,
            f.name,
            f.manifest_rows,
            f.accepted,
            f.quarantined_total,
            kind.kind,
            len(kind.files),
            kind.seconds,
        )


def _codes(ctx: JobContext, schema: SourceSchema, kind: str) -> dict[str, list[str]]:
    names = {c.codelist for c in schema.files[kind].columns if c.codelist}
    return {n: sorted(load_codelist(ctx.config.conf_dir, n)) for n in names}
