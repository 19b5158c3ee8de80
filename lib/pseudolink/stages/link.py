"""Link stage: the bronze KSZ, VDAB and Statbel tables to the populations, in trusted/.

Per table (:data:`pseudolink.link.rules.RULES`): one join of the bronze rows with the
populations' windows, written to ``trusted/linked/<source>/<kind>`` (Delta, partitioned
by population and period), and the report pass over the same join (it reads only the
INSZ and time columns). The join broadcasts the windows when their estimated size fits
``link.broadcast_threshold_mb``, else it is a sort-merge join, with the INSZ of more
than ``link.skew_rows`` rows (a placeholder number) joined apart by broadcast; the plan
each join got is logged. The linkage report goes to ``trusted/linked/_report`` (Delta) and
``_report.json``. Details: docs/link.md.
"""

from __future__ import annotations

import json
import time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.catalog import LINK_REPORT, LINKED, Catalog
from pseudolink.cli import JobContext
from pseudolink.link.frames import (
    LINEAGE,
    exploded,
    linked_rows,
    report_counts,
    windows_by_person,
    with_population_status,
)
from pseudolink.link.report import TableReport, build_report, reconcile
from pseudolink.link.rules import RULES, LinkRule
from pseudolink.purged import refuse_if_purged
from pseudolink.storage import HadoopFs, last_commit, read_delta, write_delta

BYTES_PER_WINDOW = 120  # estimated size of one window in the broadcast (measured ~100)


def choose_join(ctx: JobContext, windows_rows: int) -> tuple[str, str]:
    """('broadcast' | 'merge', why), from link.join and the estimated broadcast size."""
    settings = ctx.config.link
    size_mb = windows_rows * BYTES_PER_WINDOW / 2**20
    if settings.join == "broadcast":
        return "broadcast", "forced by link.join"
    if settings.join == "sort_merge":
        return "merge", "forced by link.join"
    if size_mb <= settings.broadcast_threshold_mb:
        return "broadcast", f"windows ~{size_mb:.1f} MB <= {settings.broadcast_threshold_mb} MB"
    return "merge", f"windows ~{size_mb:.1f} MB > {settings.broadcast_threshold_mb} MB"


def join_plan(df: DataFrame) -> str:
    """The join operators in the physical plan Spark chose (before adaptive changes)."""
    plan = df._jdf.queryExecution().executedPlan().toString()
    found = [op for op in ("BroadcastHashJoin", "SortMergeJoin", "ShuffledHashJoin") if op in plan]
    return ", ".join(found) or "no join"


def run(ctx: JobContext) -> list[TableReport]:
    """Link every table of RULES; write the linked tables and the report."""
    refuse_if_purged(ctx, "link", "the bronze KSZ and VDAB tables")
    before = "run the stages before link first"
    windows = read_delta(
        ctx.spark, ctx.catalog.population("windows"), "populations' windows", before
    )
    hint, why = choose_join(ctx, windows.count())
    people = windows_by_person(windows).cache()
    reports = []
    try:
        for rule in RULES:
            path = ctx.catalog.bronze_table(rule.source, rule.kind)
            bronze = read_delta(ctx.spark, path, f"bronze {rule.name}", before)
            reports.append(link_table(ctx, rule, bronze, people, hint, why))
    finally:
        people.unpersist()
    write_report(ctx, reports)
    ctx.audit.add(
        "link",
        inputs=[f"bronze/{r.source}/{r.kind}" for r in RULES] + ["trusted/populations/windows"],
        outputs=[f"trusted/{LINKED}/{r.source}/{r.kind}" for r in RULES]
        + [f"trusted/{LINKED}/{LINK_REPORT}"],
        counts={t.name: {"rows_in": t.bronze_rows, "linked": t.linked_rows} for t in reports},
    )
    return reports


def pipeline_step(ctx: JobContext) -> tuple[list[str], dict]:
    """The stage as the pipeline runs it: one summary line per table."""
    reports = run(ctx)
    return [f"link {r.summary()}" for r in reports], {}


def outputs(catalog: Catalog, extra: dict) -> list[str]:
    """What the stage writes: every linked table and the linkage report."""
    return [catalog.linked(rule.source, rule.kind) for rule in RULES] + [catalog.link_report()]


def link_table(
    ctx: JobContext,
    rule: LinkRule,
    bronze: DataFrame,
    people: DataFrame,
    hint: str,
    why: str,
) -> TableReport:
    started = time.monotonic()
    columns = [c for c in bronze.columns if c not in LINEAGE] + ["delivery_id"]
    hot = hot_keys(bronze, ctx.config.link.skew_rows) if hint == "merge" else []
    if hot:
        ctx.log.info(
            "link: %s: %d INSZ with more than %s rows each, joined apart (skew guard)",
            rule.name,
            len(hot),
            f"{ctx.config.link.skew_rows:,}",
        )
    rows = exploded(with_population_status(bronze, people, rule, hint, hot))
    linked = linked_rows(rows, columns)
    plan = join_plan(linked)
    ctx.log.info("link: %s: %s (%s)", rule.name, plan, why)
    out = ctx.catalog.linked(rule.source, rule.kind)
    # One task per (population, period): one file per partition folder, not one per input
    # split and folder.
    parts = ["population", "period"]
    write_delta(linked.repartition(*parts), out, parts, overwrite_schema=True)
    counts = report_counts(rows).collect()
    report = build_report(rule.source, rule.kind, counts, bronze.count())
    reconcile(report, last_commit(ctx.spark, out)[1])  # the rows the write committed
    report.join, report.seconds = plan, time.monotonic() - started
    ctx.log.info("link: %s", report.summary())
    return report


def hot_keys(bronze: DataFrame, limit: int) -> list[str]:
    """The INSZ with more than ``limit`` rows (one aggregation over the INSZ column; the
    few keys found, not records, come to the driver)."""
    heavy = bronze.groupBy("insz").count().filter(F.col("count") > limit)
    return [r["insz"] for r in heavy.select("insz").limit(1000).collect()]


def write_report(ctx: JobContext, reports: list[TableReport]) -> None:
    rows = [r.as_dict() for t in reports for r in t.rows]
    schema = (
        "source string, kind string, population string, period string, rows_in long, "
        "linked long, outside_window long, not_in_population long, linkage_rate double"
    )
    frame = ctx.spark.createDataFrame(
        [tuple(r[k] for k in schema_names(schema)) for r in rows], schema
    ).withColumn("created_at", F.current_timestamp())
    write_delta(frame, ctx.catalog.link_report(), overwrite_schema=True)
    summary = {
        "tables": [
            {
                "table": t.name,
                "bronze_rows": t.bronze_rows,
                "totals": t.totals,
                "linked_rows": t.linked_rows,
                "join": t.join,
                "seconds": round(t.seconds, 2),
            }
            for t in reports
        ],
        "rows": rows,
    }
    HadoopFs(ctx.spark).write_text(ctx.catalog.link_report(".json"), json.dumps(summary, indent=1))


def schema_names(schema: str) -> list[str]:
    return [part.strip().split(" ")[0] for part in schema.split(",")]
