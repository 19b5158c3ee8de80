"""Release stage: coarsen, run the SCRA with treatment, and write the release if it passes.

1. The rules of conf/release.yaml (:mod:`pseudolink.release.rules`).
2. The SCRA frame: one row per population, year and person of DEMOBEL and CENSUS, with
   the quasi-identifiers (:func:`pseudolink.release.build.scra_base`).
3. Treatment until no small cell is left (:mod:`pseudolink.release.treat`); each round's
   frame is materialised as Parquet under ``trusted/release_work/<release-id>/``.
4. Refused: the SCRA report goes to ``trusted/scra/<release-id>/`` and the job stops
   naming the offending key combinations and their counts.
5. Passed: every table of conf/release.yaml to ``release/<release-id>/<table>`` (Delta,
   partitioned by population and year or quarter, column comments from conf/), each
   checked for identifiers; the data dictionary, the SCRA report (HTML and JSON) and,
   last, ``manifest.json`` (tables, Delta versions, row counts, SHA-256 of every file).
   A release folder without a manifest is an interrupted run: the next run replaces it.
Details: docs/release.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pseudolink.catalog import RELEASE_MANIFEST as MANIFEST
from pseudolink.catalog import Catalog
from pseudolink.cli import JobContext
from pseudolink.errors import InputError, PseudolinkError
from pseudolink.pseudo.check import RELEASE_COLUMN, identifier_findings
from pseudolink.pseudo.order import neutral_order
from pseudolink.purged import PURGED_TABLES, purge_state
from pseudolink.release.build import (
    partition_columns,
    persons_frame,
    release_frame,
    scra_base,
    with_treated,
)
from pseudolink.release.contract import load_contract, violations
from pseudolink.release.dictionary import render_dictionary
from pseudolink.release.report import render_report
from pseudolink.release.rules import PERSON_YEAR_TABLES, ReleaseRules, load_rules
from pseudolink.release.scra import (
    cell_size_distribution,
    frequencies,
    household_risk,
    longitudinal_frequencies,
    longitudinal_only,
    summary,
)
from pseudolink.release.treat import Treatment, information_loss, start_levels, treat
from pseudolink.storage import HadoopFs, last_commit, read_delta, utc_now, write_delta

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SHOWN_OFFENDING = 10


class ReleaseRefused(PseudolinkError):
    """The SCRA does not pass after treatment: nothing is released."""


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
        loss = self.scra.get("information_loss", {})
        start = self.scra.get("rounds", [{}])[0]
        return (
            f"release {self.release_id}: SCRA {self.verdict.upper()} "
            f"(k = {self.scra.get('k')}; before treatment {start.get('records_below_k', 0):,} "
            f"records in yearly and {start.get('persons_below_k', 0):,} persons in longitudinal "
            f"small cells; {sum(loss.get('suppressions', {}).values()):,} values suppressed, "
            f"{loss.get('records_changed', 0):,} records changed); {self.folder}"
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
    """The pseudonymised tables the release reads, and the built persons table. On a purged
    root (a corrected re-release) the KSZ and VDAB tables are gone and left out."""
    out: dict[str, DataFrame] = {}
    for t in rules.tables.values():
        if t.source == "persons" or t.source in out:
            continue
        if purged and purged_source(t.source):
            continue
        path = ctx.catalog.pseudonymised(t.source)
        before = "run the stages before release first"
        out[t.source] = read_delta(ctx.spark, path, f"pseudonymised {t.source}", before)
    if any(t.source == "persons" for t in rules.tables.values()):
        ksz = ctx.catalog.pseudonymised("ksz_quarterly")
        activation = None
        persons = next(t for t in rules.tables.values() if t.source == "persons")
        if "activation_start" in persons.columns and not purged:
            hint = "the activation start comes from KSZ (footnote 4)"
            activation = read_delta(ctx.spark, ksz, "pseudonymised ksz_quarterly", hint)
        out["persons"] = persons_frame(out["populations"], out["moves"], activation)
    return out


class Scratch:
    """Materialises the treatment's frames as Parquet, so the rounds' plans stay short and
    each frame is computed once. Four folders in turn: a frame reads at most the two
    materialised before it, so the folder it overwrites is no longer read."""

    SLOTS = 4

    def __init__(self, spark: SparkSession, folder: str) -> None:
        self.spark, self.folder, self.round = spark, folder, 0

    def __call__(self, df: DataFrame) -> DataFrame:
        path = f"{self.folder}/round-{self.round % self.SLOTS}"
        self.round += 1
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)


def run(
    ctx: JobContext, release_id: str | None = None, corrected: str | None = None
) -> ReleaseOutcome:
    """Coarsen, analyse, treat and (if the SCRA passes) write one release. After the purge
    only a corrected re-release is made, with ``corrected`` (its reason, audited)."""
    started = time.monotonic()
    rules = load_rules(ctx.config.conf_dir)
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
    base = scra_base(frames, rules).cache()
    ctx.log.info("release: SCRA on %s person-years (k = %d)", f"{base.count():,}", rules.k)
    work = ctx.catalog.release_work(rid)
    try:
        treatment = treat(base, rules, ctx.config.conf_dir, Scratch(ctx.spark, work), ctx.log.info)
        scra_seconds = time.monotonic() - started
        scra = scra_summary(rid, rules, treatment, base, ctx.config.conf_dir)
        scra["seconds"] = round(scra_seconds, 1)
        if not treatment.passed:
            refuse(ctx, fs, rid, rules, treatment, scra)
        outcome = ReleaseOutcome(rid, folder, "pass", f"{folder}/scra/scra_report.html", scra=scra)
        outcome.left_out = left_out
        try:
            write_release(ctx, fs, rules, frames, treatment, outcome)
        except BaseException:
            fs.delete(folder)
            raise
    finally:
        base.unpersist()
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


def scra_summary(
    rid: str, rules: ReleaseRules, treatment: Treatment, base: DataFrame, conf_dir: Path | str
) -> dict:
    """The figures of the SCRA report, before and after treatment (aggregates only)."""
    out: dict = {
        "release_id": rid,
        "k": rules.k,
        "quasi_identifiers": list(rules.quasi_identifiers),
        "verdict": "pass" if treatment.passed else "fail",
        "reason": treatment.reason,
        "start_levels": start_levels(rules),
        "levels": dict(treatment.levels),
        "rounds": [r.__dict__ for r in treatment.rounds],
        "risk": {},
        "cell_sizes": {},
        "longitudinal": {},
    }
    for side, frame in (("before", treatment.start), ("after", treatment.frame)):
        scored = household_risk(frequencies(frame, rules.quasi_identifiers)).cache()
        try:
            out["risk"][side] = _rows(
                summary(scored, rules.quasi_identifiers, rules.k), ["population", "year"]
            )
            out["cell_sizes"][side] = _rows(
                cell_size_distribution(scored), ["population", "cell_size"]
            )
            out["longitudinal"][side] = (
                longitudinal_rows(scored, rules) if rules.longitudinal else []
            )
        finally:
            scored.unpersist()
    out["information_loss"] = information_loss(treatment, base, rules, conf_dir)
    return out


def longitudinal_rows(scored: DataFrame, rules: ReleaseRules) -> list[dict]:
    qis = rules.quasi_identifiers
    lf = longitudinal_frequencies(scored, qis)
    only = (
        longitudinal_only(scored, lf, rules.k)
        .groupBy("population")
        .agg(F.count(F.lit(1)).alias("longitudinal_only"))
    )
    per = lf.groupBy("population").agg(
        F.count(F.lit(1)).alias("persons"),
        F.sum(F.when(F.col("long_fk") < rules.k, 1).otherwise(0)).alias("persons_below_k"),
    )
    joined = per.join(only, "population", "left").fillna(0, ["longitudinal_only"])
    return _rows(joined, ["population"])


def _rows(df: DataFrame, order: list[str]) -> list[dict]:
    """A small aggregate's rows as JSON-ready dicts (at most a few hundred rows)."""
    rows = []
    for r in df.orderBy(*order).collect():
        d = r.asDict()
        rows.append({k: (float(v) if isinstance(v, float) else v) for k, v in d.items()})
    return rows


def offending_cells(frame: DataFrame, rules: ReleaseRules, limit: int = 50) -> list[dict]:
    """The key combinations still below k, with their record counts (no record's values
    beyond its cell's combination)."""
    qis = rules.quasi_identifiers
    cells = (
        frequencies(frame, qis)
        .filter(F.col("fk") < rules.k)
        .groupBy("population", "year", *qis)
        .agg(F.count(F.lit(1)).alias("records"))
        .orderBy("population", "year", "records")
        .limit(limit)
        .collect()
    )
    return [
        {
            "population": r["population"],
            "year": r["year"],
            "keys": {q: r[q] for q in qis},
            "records": r["records"],
        }
        for r in cells
    ]


def refuse(
    ctx: JobContext, fs: HadoopFs, rid: str, rules: ReleaseRules, treatment: Treatment, scra: dict
) -> None:
    """Write the SCRA report to trusted/scra/<release-id>/ and stop: nothing is released."""
    scra["offending"] = offending_cells(treatment.frame, rules)
    folder = ctx.catalog.refused(rid)
    fs.write_text(f"{folder}/scra.json", json.dumps(scra, indent=2, default=str))
    fs.write_text(f"{folder}/scra_report.html", render_report(scra))
    shown = "; ".join(
        f"population {c['population']} year {c['year']} "
        + ", ".join(f"{k}={'missing' if v is None else v}" for k, v in c["keys"].items())
        + f": {c['records']} record(s)"
        for c in scra["offending"][:SHOWN_OFFENDING]
    )
    last = treatment.rounds[-1]
    persons = "not counted" if last.persons_below_k is None else f"{last.persons_below_k}"
    raise ReleaseRefused(
        f"release {rid} refused: the SCRA does not pass after treatment ({treatment.reason}); "
        f"{last.records_below_k} records in yearly small cells, persons in longitudinal ones: "
        f"{persons} (k = {rules.k}). Offending key combinations: "
        f"{shown or 'longitudinal only'}. Report: {folder}/scra_report.html"
    )


def write_release(
    ctx: JobContext,
    fs: HadoopFs,
    rules: ReleaseRules,
    frames: dict[str, DataFrame],
    treatment: Treatment,
    outcome: ReleaseOutcome,
) -> None:
    """Every table, checked; the dictionary and the SCRA report; the manifest last."""
    folder, conf = outcome.folder, ctx.config.conf_dir
    membership = read_delta(ctx.spark, ctx.catalog.population("membership"), "membership")
    known = membership.select("household_id")
    qis = rules.quasi_identifiers
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
    refused: list[str] = []
    for name, table in rules.tables.items():
        if name in outcome.left_out:
            continue
        t0 = time.monotonic()
        out = release_frame(
            frames[table.source], table, rules, ctx.config.conf_dir, treatment.levels
        )
        if name in PERSON_YEAR_TABLES:
            out = with_treated(out, table, treatment.frame, qis)
        parts = partition_columns(table)
        path = f"{folder}/{name}"
        # Rows in an order that carries nothing: by the (random) sequence number.
        write_delta(neutral_order(out, parts, "person_id"), path, parts)
        written = ctx.spark.read.format("delta").load(path)
        refused += [f"{path}: {v}" for v in violations(written, name, contract, conf)]
        findings = identifier_findings(written, known, RELEASE_COLUMN)
        if findings:
            raise PseudolinkError(
                f"release: {path}: " + "; ".join(findings) + ": nothing is released"
            )
        version, rows = last_commit(ctx.spark, path)
        columns[name] = [(f.name, f.dataType.simpleString()) for f in written.schema.fields]
        outcome.tables[name] = rows
        manifest["tables"][name] = {"rows": rows, "delta_version": version, "partitioned_by": parts}
        ctx.log.info("release: %s: %s rows in %.1f s", name, f"{rows:,}", time.monotonic() - t0)
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
        render_dictionary(
            rules, ctx.config.conf_dir, treatment.levels, columns, outcome.release_id
        ),
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
