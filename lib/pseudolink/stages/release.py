"""Release stage: coarsen, run the SCRA with treatment, and write the release if it passes.

1. The rules of conf/release.yaml (:mod:`pseudolink.release.rules`): the tables, the
   hierarchies and the intruder model (keys, scenarios, recoding).
2. The SCRA (:mod:`pseudolink.release.analysis`): global recoding chosen on a lattice, local
   suppression until every scenario passes, the figures of what it cost; its frames are
   materialised as Parquet under ``trusted/release_work/<release-id>/``.
3. Refused: the SCRA report goes to ``trusted/scra/<release-id>/`` and the job stops
   naming the scenarios that fail and why.
4. Passed: every table of conf/release.yaml to ``release/<release-id>/<table>`` (Delta,
   partitioned by population and year or quarter, column comments from conf/), each
   checked for identifiers and against the authorisation contract; the data dictionary,
   the SCRA report (HTML and JSON) and, last, ``manifest.json`` (tables, Delta versions,
   row counts, SHA-256 of every file). A release folder without a manifest is an
   interrupted run: the next run replaces it.
Details: docs/release.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession

from pseudolink.catalog import RELEASE_MANIFEST as MANIFEST
from pseudolink.catalog import Catalog
from pseudolink.cli import JobContext
from pseudolink.errors import InputError, PseudolinkError
from pseudolink.pseudo.check import RELEASE_COLUMN, identifier_findings
from pseudolink.pseudo.order import neutral_order
from pseudolink.purged import PURGED_TABLES, purge_state
from pseudolink.release.analysis import Analysis, analyse
from pseudolink.release.build import (
    ROW_KEY,
    hidden_moves,
    masked,
    partition_columns,
    persons_frame,
    reference_rows,
    release_frame,
    yearly_frame,
)
from pseudolink.release.contract import load_contract, violations
from pseudolink.release.dictionary import render_dictionary
from pseudolink.release.report import render_report
from pseudolink.release.rules import (
    PERSON_YEAR_TABLES,
    ReleaseRules,
    TableRule,
    load_rules,
    with_profile,
)
from pseudolink.release.treat import ID
from pseudolink.storage import HadoopFs, last_commit, read_delta, utc_now, write_delta

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SHOWN_OFFENDING = 10
HUGE_METHOD_LIMIT = "spark.sql.codegen.hugeMethodLimit"
WRITERS = 2  # released tables written at the same time


class ReleaseRefused(PseudolinkError):
    """The SCRA does not pass after treatment: nothing is released. ``scra``: the report's
    figures (aggregates only) when the SCRA ran."""

    def __init__(self, message: str, scra: dict | None = None) -> None:
        super().__init__(message)
        self.scra = scra or {}


def scra_figures(scra: dict) -> dict:
    """The SCRA's headline figures (the benchmark's and the closing line's): time, rounds,
    units below k per scenario before and after, suppression per key and in all, the
    levels chosen (as classes), the information loss and the transitions kept."""
    keys = scra.get("keys", {})
    values = sum(v["values"] for v in keys.values())
    gone = sum(v["suppressed"] for v in keys.values())
    below = {}
    for s in scra.get("scenarios", []):
        k = str(s["k"])
        if "below_k" in s:
            below[s["name"]] = {side: s["below_k"][side][k] for side in ("before", "after")}
        for t, v in s.get("tables_below_k", {}).items():
            below[f"{s['name']}:{t}"] = {side: v[side][k] for side in ("before", "after")}
    return {
        "scra_seconds": scra.get("seconds"),
        "rounds": len(scra.get("rounds", [])),
        "below_k": below,
        "suppressed_share": round(gone / values, 4) if values else None,
        "suppressed": {q: v["share_suppressed"] for q, v in keys.items()},
        "levels": {q: v["chosen_label"] for q, v in scra.get("levels", {}).items()},
        "information_loss": scra.get("information_loss"),
        "transitions_kept": {c: v["kept"] for c, v in scra.get("transitions", {}).items()},
    }


@dataclass
class ReleaseOutcome:
    release_id: str
    folder: str
    verdict: str
    report: str
    tables: dict[str, int] = field(default_factory=dict)
    scra: dict = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)  # tables whose sources were purged

    def summary_line(self) -> str:
        keys = self.scra.get("keys", {})
        values = sum(v["values"] for v in keys.values()) or 1
        gone = sum(v["suppressed"] for v in keys.values())
        levels = ", ".join(
            f"{q} {v['chosen_label']}" for q, v in self.scra.get("levels", {}).items()
        )
        return (
            f"release {self.release_id}: SCRA {self.verdict.upper()} "
            f"(k = {self.scra.get('k')}; {len(self.scra.get('scenarios', []))} scenarios; "
            f"{levels}; {gone:,} key values suppressed ({gone / values:.1%}), "
            f"information loss {self.scra.get('information_loss', 0):.3f}); {self.folder}"
        )


def default_release_id(fs: HadoopFs, catalog: Catalog) -> str:
    """``release-YYYYMMDD``, with ``-2``, ``-3``... when that release exists already."""
    base = f"release-{dt.datetime.now(dt.UTC):%Y%m%d}"
    rid, n = base, 1
    while fs.exists(catalog.release_manifest(rid)):
        n += 1
        rid = f"{base}-{n}"
    return rid


def purged_source(source: str) -> bool:
    """Whether a pseudonymised table is KSZ- or VDAB-derived (destroyed by the purge)."""
    return source in PURGED_TABLES


def sources(ctx: JobContext, rules: ReleaseRules, purged: bool = False) -> dict[str, DataFrame]:
    """The pseudonymised tables the release reads. On a purged root (a corrected
    re-release) the KSZ and VDAB tables are gone and left out."""
    out: dict[str, DataFrame] = {}
    for t in rules.tables.values():
        if t.source == "persons" or t.source in out:
            continue
        if purged and purged_source(t.source):
            continue
        path = ctx.catalog.pseudonymised(t.source)
        before = "run the stages before release first"
        out[t.source] = read_delta(ctx.spark, path, f"pseudonymised {t.source}", before)
    return out


def with_persons(
    frames: dict[str, DataFrame], rules: ReleaseRules, reference: DataFrame
) -> dict[str, DataFrame]:
    """``frames`` with the built ``persons`` table (the start of an activation action comes
    from KSZ: footnote 4; left empty after the purge)."""
    persons = next(t for t in rules.tables.values() if t.source == "persons")
    ksz = frames.get("ksz_quarterly") if "activation_start" in persons.columns else None
    built = persons_frame(frames["populations"], frames["moves"], reference, ksz)
    return {**frames, "persons": built}


class Scratch:
    """Materialises the SCRA's frames as Parquet, so the plans stay short and each frame
    is computed once: one folder per frame, all removed with the work folder."""

    def __init__(self, spark: SparkSession, folder: str) -> None:
        self.spark, self.folder, self.round = spark, folder, 0

    def __call__(self, df: DataFrame) -> DataFrame:
        path = f"{self.folder}/frame-{self.round}"
        self.round += 1
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)


def run(
    ctx: JobContext, release_id: str | None = None, corrected: str | None = None
) -> ReleaseOutcome:
    """Coarsen, analyse, treat and (if the SCRA passes) write one release. After the purge
    only a corrected re-release is made, with ``corrected`` (its reason, audited)."""
    started = time.monotonic()
    rules = with_profile(load_rules(ctx.config.conf_dir), ctx.config.release, ctx.config.source)
    purged = purge_state(ctx) is not None
    if purged and not corrected:
        contract = load_contract(ctx.config.conf_dir)
        raise InputError(
            f"{ctx.catalog.release('')}: the data were purged after a release: a second "
            f"release is refused ({contract.rerelease_paragraph}); a corrected re-release "
            "needs --corrected-rerelease REASON (recorded in the audit log)"
        )
    fs = HadoopFs(ctx.spark)
    rid = release_id or default_release_id(fs, ctx.catalog)
    if not _ID.match(rid):
        raise InputError(f"--release-id '{rid}': expected letters, digits, '.', '_', '-'")
    folder = ctx.catalog.release(rid)
    if fs.exists(ctx.catalog.release_manifest(rid)):
        raise InputError(
            f"{folder}: release '{rid}' exists and is complete; give a new --release-id"
        )
    if fs.exists(folder):
        ctx.log.info("release: %s: left by an interrupted run, replaced", folder)
        fs.delete(folder)
    frames = sources(ctx, rules, purged)
    left_out = [
        n for n, t in rules.tables.items() if t.source != "persons" and t.source not in frames
    ]
    work = ctx.catalog.release_work(rid)
    scratch = Scratch(ctx.spark, work)
    try:
        yearly = scratch(yearly_frame(frames, rules))
        reference = scratch(reference_rows(yearly))
        frames = with_persons(frames, rules, reference)
        ctx.log.info(
            "release: SCRA on %s persons, %d scenarios (k = %d)",
            f"{reference.count():,}",
            len(rules.scenarios),
            rules.k,
        )
        analysis = analyse(
            frames,
            yearly,
            reference,
            rules,
            ctx.config.conf_dir,
            ctx.config.cohorts.last_year,
            scratch,
            ctx.log.info,
        )
        scra_seconds = time.monotonic() - started
        scra = scra_summary(rid, rules, analysis)
        scra["profile"] = profile_note(ctx)
        scra["seconds"] = round(scra_seconds, 1)
        if not analysis.passed:
            refuse(ctx, fs, rid, analysis, scra)
        outcome = ReleaseOutcome(rid, folder, "pass", f"{folder}/scra/scra_report.html", scra=scra)
        outcome.left_out = left_out
        # A released table classes many columns in one projection (adi: 24 amounts, 14
        # classes each); whole-stage code generation makes it one method too large for the
        # JIT to compile well: 26.5 s for the 3 124 655 adi rows at 1 000 000 persons,
        # 8.2 s when a method over 8 000 bytes of bytecode (the JVM's own huge-method size)
        # falls back to per-expression code (census 5.1 -> 2.5 s, demobel 3.7 -> 2.4 s).
        # Only here, where it was measured.
        huge = ctx.spark.conf.get(HUGE_METHOD_LIMIT, None)
        ctx.spark.conf.set(HUGE_METHOD_LIMIT, "8000")
        try:
            write_release(ctx, fs, rules, frames, analysis, outcome)
        except BaseException:
            fs.delete(folder)
            raise
        finally:
            if huge is None:
                ctx.spark.conf.unset(HUGE_METHOD_LIMIT)
            else:
                ctx.spark.conf.set(HUGE_METHOD_LIMIT, huge)
    finally:
        fs.delete(work)
    outcome.seconds = {
        "scra": round(scra_seconds, 1),
        "total": round(time.monotonic() - started, 1),
    }
    ctx.log.info("release: %s", outcome.summary_line())
    ctx.log.info("release: SCRA report %s", outcome.report)
    ctx.audit.add(
        "release",
        inputs=[f"trusted/pseudonymised/{s}" for s in sorted(frames) if s != "persons"],
        outputs=[f"release/{rid}"],
        counts={"tables": dict(outcome.tables), "verdict": outcome.verdict},
        release_id=rid,
        end_date=str(ctx.config.retention.end_date),
        **({"corrected_rerelease": corrected, "left_out": left_out} if corrected else {}),
    )
    return outcome


def pipeline_step(ctx: JobContext) -> tuple[list[str], dict]:
    """The stage as the pipeline runs it (release id ``ctx.args.release_id``, if given):
    the verdict line, the release's folder, verdict and report."""
    outcome = run(
        ctx,
        getattr(ctx.args, "release_id", None),
        getattr(ctx.args, "corrected_rerelease", None),
    )
    extra = {
        "release_id": outcome.release_id,
        "folder": outcome.folder,
        "verdict": outcome.verdict,
        "report": outcome.report,
    }
    return [outcome.summary_line()], extra


def outputs(catalog: Catalog, extra: dict) -> list[str]:
    """What marks the release done: its manifest, written last."""
    return [catalog.release_manifest(extra["release_id"])]


def profile_note(ctx: JobContext) -> dict:
    """What the config's profile changed in the release rules (empty: nothing)."""
    p = ctx.config.release
    if p.max_suppressed_share is None and not p.skip_scenarios:
        return {}
    return {
        "profile": ctx.config.profile,
        "skipped_scenarios": list(p.skip_scenarios),
        "max_suppressed_share": p.max_suppressed_share,
        "why": p.why,
    }


def scra_summary(rid: str, rules: ReleaseRules, analysis: Analysis) -> dict:
    """The SCRA report's figures (aggregates only) with the release's id and verdict."""
    return {
        "release_id": rid,
        "verdict": "pass" if analysis.passed else "fail",
        "reason": analysis.reason,
        **analysis.figures,
    }


def refuse(ctx: JobContext, fs: HadoopFs, rid: str, analysis: Analysis, scra: dict) -> None:
    """Write the SCRA report to trusted/scra/<release-id>/ and stop: nothing is released."""
    folder = ctx.catalog.refused(rid)
    fs.write_text(f"{folder}/scra.json", json.dumps(scra, indent=2, default=str))
    fs.write_text(f"{folder}/scra_report.html", render_report(scra))
    failing = [
        f"{s['name']}: {sum_after(s)} below k = {s['k']}"
        for s in scra["scenarios"]
        if not s["passed"]
    ]
    raise ReleaseRefused(
        f"release {rid} refused: the SCRA does not pass after treatment ({analysis.reason}); "
        f"{'; '.join(failing) or 'every scenario passes'}. Report: {folder}/scra_report.html",
        scra,
    )


def sum_after(scenario: dict) -> str:
    """The units below k after treatment, as the refusal names them."""
    k = str(scenario["k"])
    if "below_k" in scenario:
        return f"{scenario['below_k']['after'].get(k, '?')} {scenario['unit']}s"
    tables = scenario.get("tables_below_k", {})
    return ", ".join(f"{t}: {v['rounds'][-1]} rows" for t, v in tables.items())


def write_release(
    ctx: JobContext,
    fs: HadoopFs,
    rules: ReleaseRules,
    frames: dict[str, DataFrame],
    analysis: Analysis,
    outcome: ReleaseOutcome,
) -> None:
    """Every table, checked; the dictionary and the SCRA report; the manifest last."""
    folder, conf = outcome.folder, ctx.config.conf_dir
    membership = read_delta(ctx.spark, ctx.catalog.population("membership"), "membership")
    known = membership.select("household_id")
    columns: dict[str, list[tuple[str, str]]] = {}
    manifest: dict = {
        "release_id": outcome.release_id,
        "created": utc_now(),
        # The last day researchers may keep it (conf retention.end_date): `retention`
        # destroys the release and its packages after it.
        "end_date": ctx.config.retention.end_date.isoformat(),
        "tables": {},
    }
    contract = load_contract(ctx.config.conf_dir)

    def write_one(name: str, table: TableRule) -> dict:
        t0 = time.monotonic()
        if name in analysis.rows:
            out = analysis.rows[name]  # a row scenario's table, treated
        else:
            out = release_frame(
                frames[table.source], table, rules, ctx.config.conf_dir, analysis.levels
            )
        if name in ("persons", "household_membership"):
            out = masked(out, analysis.person_mask, ID)
        elif name == "moves":
            out = hidden_moves(out, analysis.person_mask)
        elif name in PERSON_YEAR_TABLES:
            out = masked(out, analysis.yearly_mask, ROW_KEY)
        parts = partition_columns(table)
        path = f"{folder}/{name}"
        # Rows in an order that carries nothing: by the (random) sequence number.
        write_delta(neutral_order(out, parts, "person_id"), path, parts)
        written = ctx.spark.read.format("delta").load(path)
        refused = [f"{path}: {v}" for v in violations(written, name, contract, conf)]
        findings = identifier_findings(written, known, RELEASE_COLUMN)
        if findings:
            raise PseudolinkError(
                f"release: {path}: " + "; ".join(findings) + ": nothing is released"
            )
        version, rows = last_commit(ctx.spark, path)
        ctx.log.info("release: %s: %s rows in %.1f s", name, f"{rows:,}", time.monotonic() - t0)
        return {
            "refused": refused,
            "columns": [(f.name, f.dataType.simpleString()) for f in written.schema.fields],
            "manifest": {"rows": rows, "delta_version": version, "partitioned_by": parts},
        }

    # Two tables at a time: while one commits to Delta or is planned (the driver's work,
    # about a second per table), the other keeps the executors busy. On a failure the
    # tables not started are not written; leaving the block waits for the one running, so
    # no write goes on in a folder being removed.
    todo = [(n, t) for n, t in rules.tables.items() if n not in outcome.left_out]
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="release-write") as pool:
        futures = [pool.submit(write_one, n, t) for n, t in todo]
        try:
            done = [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    refused: list[str] = []
    for (name, _), got in zip(todo, done, strict=True):
        refused += got["refused"]
        columns[name] = got["columns"]
        outcome.tables[name] = got["manifest"]["rows"]
        manifest["tables"][name] = got["manifest"]
    if refused:
        raise ReleaseRefused(
            f"release {outcome.release_id}: the written tables hold more than deliberation "
            f"{contract.deliberation} authorises (conf/authorisation.yaml): "
            + "; ".join(refused)
            + ": nothing is released"
        )
    if outcome.left_out:
        manifest["left_out"] = {
            "tables": outcome.left_out,
            "why": "a corrected re-release after the purge: their KSZ/VDAB sources are destroyed",
        }
    fs.write_text(
        f"{folder}/dictionary.md",
        render_dictionary(rules, ctx.config.conf_dir, analysis.levels, columns, outcome.release_id),
    )
    fs.write_text(f"{folder}/scra/scra.json", json.dumps(outcome.scra, indent=2, default=str))
    fs.write_text(f"{folder}/scra/scra_report.html", render_report(outcome.scra))
    manifest["files"] = [
        {"path": rel, "bytes": size, "sha256": fs.sha256(f"{folder}/{rel}")}
        for rel, size in walk(fs, folder)
        if rel != MANIFEST
    ]
    fs.write_text(f"{folder}/{MANIFEST}", json.dumps(manifest, indent=2))


def walk(fs: HadoopFs, folder: str, prefix: str = "") -> list[tuple[str, int]]:
    """Every file under ``folder``: (relative path, bytes), sorted; checksum files skipped."""
    out: list[tuple[str, int]] = []
    for e in fs.list(folder):
        rel = f"{prefix}{e.name}"
        if e.is_dir:
            out += walk(fs, f"{folder}/{e.name}", rel + "/")
        elif not e.name.endswith(".crc"):
            out.append((rel, e.size))
    return sorted(out)
