"""The benchmark: generate (not counted in the pipeline's time), then ingest, cohorts, link,
pseudonymise, release, deliver (to the outbox) and purge, in the pipeline's order, timed per
stage with rows in and out, rows/s and peak memory; the package's size in bytes; what purge
destroyed; JSON and Markdown out. Purge here keeps the generated inbox (for reruns at the
same N) and destroys the rest.
``variants`` adds, side by side in the same run, the tokens of every person with the pandas
UDF and with the native expression, and the link of the largest table with a broadcast and
with a sort-merge join. ``start`` = "link" reuses the bronze
tables and populations of an earlier run on the same root and starts at link; "release"
reuses its pseudonymised tables too and times the release, deliver and purge. Both need a
root no earlier run purged (the purge destroys those tables): start from the inbox then."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from pyspark.sql import functions as F

from pseudolink.cli import JobContext
from pseudolink.config import uri_to_local_path
from pseudolink.errors import InputError
from pseudolink.ingest.lines import with_line_source
from pseudolink.ingest.manifest import MANIFEST
from pseudolink.ingest.parse import with_fields, with_values
from pseudolink.purged import purge_state
from pseudolink.schemas import load_source
from pseudolink.stages import cohorts, deliver, generate, ingest, link, pseudonymise, purge, release
from pseudolink.storage import HadoopFs, read_delta

MARKER = "_benchmark"
DERIVED = ("bronze", "trusted", "outbox")
STARTS = ("ingest", "link", "release")
PHASES = ("parse", "reconcile", "write")  # of the ingest: see DeliveryReport.phases


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memory(ctx: JobContext) -> dict[str, float]:
    """Peak resident memory so far of the driver JVM (which holds the local executors)
    and of the largest Python worker."""
    jvm_pid = int(ctx.spark.sparkContext._jvm.ProcessHandle.current().pid())
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    python = max((_peak_rss_mb(p) for p in pids if _is_descendant(p, jvm_pid)), default=0.0)
    return {
        "driver_jvm_peak_mb": round(_peak_rss_mb(jvm_pid)),
        "python_worker_peak_mb": round(python),
    }


def executor_totals(ctx: JobContext) -> dict[str, float]:
    """Cumulative shuffle bytes written and read by all executors (the driver's one in
    local mode) and the largest executor JVM heap peak so far, from Spark's status store
    (no UI needed): a stage's shuffle is the difference around it."""
    store = ctx.spark.sparkContext._jsc.sc().statusStore()
    executors = store.executorList(False)
    written = read = heap = 0
    for i in range(executors.length()):
        e = executors.apply(i)
        written += int(e.totalShuffleWrite())
        read += int(e.totalShuffleRead())
        peak = e.peakMemoryMetrics()
        if peak.isDefined():
            heap = max(heap, int(peak.get().getMetricValue("JVMHeapMemory")))
    return {"shuffle_write": written, "shuffle_read": read, "executor_heap_peak": heap}


_before: dict[str, float] = {}


def _is_descendant(pid: int, ancestor: int) -> bool:
    for _ in range(4):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False
        ppid = int(next(li for li in status.splitlines() if li.startswith("PPid:")).split()[1])
        if ppid == ancestor:
            return True
        if ppid <= 1:
            return False
        pid = ppid
    return False


def ensure_data(ctx: JobContext, persons: int) -> dict:
    """The benchmark data of ``persons`` in the root: generated into an empty root, or
    checked (made by the benchmark, for as many persons); nothing is removed."""
    marker = uri_to_local_path(ctx.config.root) / MARKER / "generate.json"
    if marker.exists():
        made = json.loads(marker.read_text())
        if made["persons"] != persons:
            raise InputError(
                f"{ctx.config.root}: its data were generated for {made['persons']} persons, "
                f"not {persons}: use another --root"
            )
        return {**made, "reused": True}
    return prepare_root(ctx, persons)


def prepare_root(ctx: JobContext, persons: int, keep_derived: bool | str = False) -> dict:
    """Generate into an empty root (marked as a benchmark root), or reuse its data; the
    derived zones of an earlier run are removed so every run starts at the inbox."""
    root = uri_to_local_path(ctx.config.root)
    marker = root / MARKER
    inbox = uri_to_local_path(ctx.config.zone("inbox"))
    fs = HadoopFs(ctx.spark)
    if generate.inbox_has_deliveries(inbox):
        if not marker.exists():
            raise InputError(
                f"{root}: holds deliveries but was not made by the benchmark "
                f"(no {MARKER}/): use an empty --root"
            )
        made = json.loads((marker / "generate.json").read_text())
        if keep_derived and purge_state(ctx) is not None:
            raise InputError(
                f"{root}: an earlier run's purge destroyed the bronze, linked and pseudonymised "
                "KSZ and VDAB tables: start from the inbox (no --from-link or --from-release)"
            )
        if made["persons"] != persons:
            raise InputError(
                f"{root}: its data were generated for {made['persons']} persons, "
                f"not {persons}: use another --root"
            )
        for zone in DERIVED:
            if not keep_derived and fs.exists(ctx.config.zone(zone)):
                fs.delete(ctx.config.zone(zone))
        if fs.exists(ctx.config.zone("release")):
            fs.delete(ctx.config.zone("release"))
        return {**made, "reused": True}
    marker.mkdir(parents=True, exist_ok=True)
    summary = generate.run(ctx, persons)
    (marker / "generate.json").write_text(json.dumps(summary, indent=2))
    return summary


def parse_only(ctx: JobContext) -> dict[str, float]:
    """One extra pass over every delivery file: read, split and type every value, no rules,
    to tell parsing from validation in the ingest's time."""
    fs = HadoopFs(ctx.spark)
    inbox = ctx.config.zone("inbox")
    started, rows = time.monotonic(), 0
    for source, delivery in ingest.discover(fs, inbox, None):
        folder = f"{inbox}/{source}/{delivery}"
        manifest = json.loads(fs.read_bytes(f"{folder}/{MANIFEST}"))
        schema = load_source(ctx.config.conf_dir, source)
        for kind in sorted({f["kind"] for f in manifest["files"]}):
            files = [f"{folder}/{f['name']}" for f in manifest["files"] if f["kind"] == kind]
            text = ctx.spark.read.option("lineSep", "\n").text(files)
            parsed = (
                with_line_source(text)
                .transform(with_fields)
                .transform(with_values, schema.files[kind])
            )
            typed = [F.count(c.name) for c in schema.files[kind].columns]
            rows += int(parsed.agg(F.count(F.lit(1)), *typed).first()[0])
    return {"seconds": round(time.monotonic() - started, 1), "lines": rows}


def run(ctx: JobContext, persons: int, variants: bool = False, start: str = "ingest") -> dict:
    """Time the stages from ``start`` (ingest, link or release) on; write the figures."""
    if start not in STARTS:
        raise InputError(f"benchmark: cannot start at '{start}' (expected one of {STARTS})")
    results: dict = {"persons": persons, "machine": _machine(ctx), "stages": []}
    made = prepare_root(ctx, persons, keep_derived=False if start == "ingest" else start)
    results["generate"] = made
    ctx.log.info(
        "benchmark: data of %s persons ready (%s rows)", f"{persons:,}", f"{made['rows']:,}"
    )
    if start == "ingest":
        results["stages"].append(_ingest(ctx))
        results["stages"].append(_cohorts(ctx))
        results["parse_only_pass"] = parse_only(ctx)
    if start in ("ingest", "link"):
        results["stages"].append(_link(ctx))
        results["stages"].append(_pseudonymise(ctx))
    results["stages"].append(_release(ctx, persons))
    if variants:  # before the purge: the variants read the bronze KSZ table
        if purge_state(ctx) is not None:
            raise InputError("benchmark: --variants needs the bronze KSZ table, purged earlier")
        results["variants"] = run_variants(ctx)
    if results["stages"][-1]["verdict"] == "pass":
        # The pipeline's order: purge destroys the plaintext release, after its package.
        results["stages"].append(_deliver(ctx, persons))
        results["stages"].append(_purge(ctx, persons))
    results["pipeline_seconds"] = round(sum(s["seconds"] for s in results["stages"]), 1)
    write_results(ctx, results)
    return results


def _stage(
    ctx: JobContext, name: str, seconds: float, rows_in: int, rows_out: int, **extra: object
) -> dict:
    """One stage's figures: time, rows in and out, rows/s, shuffle bytes, peak memory, and
    its extras."""
    after = executor_totals(ctx)
    return {
        "stage": name,
        "seconds": round(seconds, 1),
        "rows_in": rows_in,
        "rows_out": rows_out,
        "rows_per_second": round(rows_in / seconds) if seconds else 0,
        "shuffle_write_mb": round((after["shuffle_write"] - _before["shuffle_write"]) / 2**20, 1),
        "shuffle_read_mb": round((after["shuffle_read"] - _before["shuffle_read"]) / 2**20, 1),
        "executor_heap_peak_mb": round(after["executor_heap_peak"] / 2**20),
        **extra,
        **memory(ctx),
    }


def _timed(ctx: JobContext, action):  # noqa: ANN001, ANN202 - a thunk; (result, seconds)
    _before.update(executor_totals(ctx))
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def _ingest(ctx: JobContext) -> dict:
    reports, seconds = _timed(ctx, lambda: ingest.run(ctx))
    phases = {k: round(sum(r.phases.get(k, 0) for r in reports), 1) for k in PHASES}
    rows_in, rows_out = sum(r.rows for r in reports), sum(r.accepted for r in reports)
    return _stage(ctx, "ingest", seconds, rows_in, rows_out, phases=phases)


def _cohorts(ctx: JobContext) -> dict:
    sizes, seconds = _timed(ctx, lambda: cohorts.run(ctx))
    bronze = ctx.config.zone("bronze")
    statbel_rows = sum(
        ctx.spark.read.format("delta").load(f"{bronze}/statbel/{k}").count()
        for k in ("demobel", "census", "demobel_events")
    )
    members = sum(c["index"] + c["members"] + c["joiners"] for c in sizes.values())
    return _stage(ctx, "cohorts", seconds, statbel_rows, members, populations=sizes)


def _link(ctx: JobContext) -> dict:
    reports, seconds = _timed(ctx, lambda: link.run(ctx))
    tables = {r.name: {"seconds": round(r.seconds, 1), "join": r.join} for r in reports}
    rows_in = sum(r.bronze_rows for r in reports)
    rows_out = sum(r.linked_rows for r in reports)
    return _stage(ctx, "link", seconds, rows_in, rows_out, tables=tables)


def _pseudonymise(ctx: JobContext) -> dict:
    summary, seconds = _timed(ctx, lambda: pseudonymise.run(ctx))
    rows = sum(t["rows"] for t in summary["tables"].values())
    return _stage(
        ctx,
        "pseudonymise",
        seconds,
        rows,
        rows,
        method=summary["method"],
        domains=summary["domains"],
    )


def _release(ctx: JobContext, persons: int) -> dict:
    """The release, with the SCRA's own time, its small cells and suppressions. A refused
    release is a result here (its verdict is recorded), not a failed benchmark."""
    _before.update(executor_totals(ctx))
    started = time.monotonic()
    try:
        outcome = release.run(ctx, f"benchmark-{persons}")
        scra, tables, verdict = outcome.scra, outcome.tables, outcome.verdict
    except release.ReleaseRefused as refused:
        ctx.log.info("benchmark: %s", refused)
        scra, tables, verdict = refused.scra, {}, "fail"
    seconds = time.monotonic() - started
    return _stage(
        ctx,
        "release",
        seconds,
        sum(v["values"] for v in scra.get("keys", {}).values()),
        sum(tables.values()),
        verdict=verdict,
        reason=scra.get("reason", ""),
        **release.scra_figures(scra),
        tables=tables,
    )


def _purge(ctx: JobContext, persons: int) -> dict:
    """The KSZ and VDAB data and the plaintext release destroyed, after the release was
    packaged (the generated inbox kept for reruns): per table or folder, rows and files."""
    done, seconds = _timed(ctx, lambda: purge.run(ctx, f"benchmark-{persons}", inbox=False))
    totals = done["totals"]
    # Rows destroyed by this run: none when an earlier run had purged already.
    rows = 0 if done["already"] else totals["rows"]
    return _stage(
        ctx,
        "purge",
        seconds,
        rows,
        0,
        already_done=done["already"],
        files=totals["files"],
        bytes=totals["bytes"],
        tables=totals["tables"],
        destroyed={
            path: {"kind": s["kind"], "rows": s["rows"], "files": s["files"]}
            for path, s in done["summary"].items()
        },
    )


def _deliver(ctx: JobContext, persons: int) -> dict:
    """The release packaged into the outbox (a package of an earlier run is removed first,
    so it is timed afresh); the package's size in bytes."""
    rid = f"benchmark-{persons}"
    for path in (f"{ctx.config.zone('outbox')}/{rid}", f"{ctx.config.zone('trusted')}/deliveries"):
        HadoopFs(ctx.spark).delete(path)
    done, seconds = _timed(ctx, lambda: deliver.run(ctx, rid))
    released = json.loads(
        HadoopFs(ctx.spark).read_bytes(f"{ctx.config.zone('release')}/{rid}/manifest.json")
    )
    rows = sum(t["rows"] for t in released["tables"].values())
    return _stage(
        ctx,
        "deliver",
        seconds,
        rows,
        0,
        package_bytes=done["package_bytes"],
        release_bytes=sum(f["bytes"] for f in released["files"]),
        release_files=len(released["files"]),
    )


def run_variants(ctx: JobContext) -> dict:
    """Tokens of every person by both methods; the KSZ link by both join strategies."""
    frames = pseudonymise.tables(ctx)
    ids = pseudonymise.identifiers(frames)["persons"].cache()
    n = ids.count()
    key = bytes(32)  # a benchmark key: only the speed is measured here
    out: dict = {"tokens": {}, "link_ksz": {}}
    for method in ("udf", "native"):
        started = time.monotonic()
        tokens = pseudonymise.with_tokens(ids, key, method)
        tokens.agg(F.count_distinct("token")).first()
        seconds = time.monotonic() - started
        out["tokens"][method] = {
            "identifiers": n,
            "seconds": round(seconds, 2),
            "rows_per_second": round(n / seconds),
        }
        ctx.log.info("benchmark: tokens %s: %s in %.1f s", method, f"{n:,}", seconds)
    ids.unpersist()
    rule = link.RULES[0]
    windows = read_delta(ctx.spark, ctx.catalog.population("windows"), "windows")
    people = link.windows_by_person(windows).cache()
    people.count()
    bronze = read_delta(ctx.spark, ctx.catalog.bronze_table(rule.source, rule.kind), "bronze")
    rows = bronze.count()
    for hint in ("broadcast", "merge"):
        started = time.monotonic()
        frame = link.exploded(link.with_population_status(bronze, people, rule, hint))
        linked = link.linked_rows(frame, bronze.columns)
        count = linked.count()
        seconds = time.monotonic() - started
        out["link_ksz"][hint] = {
            "rows_in": rows,
            "linked": count,
            "plan": link.join_plan(linked),
            "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds),
        }
        ctx.log.info("benchmark: link KSZ with %s join: %.1f s", hint, seconds)
    people.unpersist()
    return out


def _machine(ctx: JobContext) -> dict:
    sc = ctx.spark.sparkContext
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "spark": ctx.spark.version,
        "master": sc.master,
        "driver_memory": sc.getConf().get("spark.driver.memory", "1g"),
        "shuffle_partitions": ctx.spark.conf.get("spark.sql.shuffle.partitions"),
    }


def write_results(ctx: JobContext, results: dict) -> None:
    folder = uri_to_local_path(ctx.config.root) / MARKER
    name = f"benchmark-{results['persons']}"
    (folder / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        f"Benchmark, {results['persons']:,} persons, {results['machine']['cpus']} cores, "
        f"master {results['machine']['master']}, driver memory "
        f"{results['machine']['driver_memory']}",
        "",
        "| stage | wall time (s) | rows in | rows out | rows/s | shuffle write (MB) "
        "| driver JVM peak RSS (MB) | executor heap peak (MB) | Python worker peak (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    gen = results["generate"]
    lines.append(
        f"| generate (not timed in the pipeline) | {gen['seconds']} | - | {gen['rows']:,} "
        f"| {gen['rows_per_second']:,} | - | - | - | - |"
    )
    for s in results["stages"]:
        lines.append(
            f"| {s['stage']} | {s['seconds']} | {s['rows_in']:,} | {s['rows_out']:,} | "
            f"{s['rows_per_second']:,} | {s['shuffle_write_mb']:,} | "
            f"{s['driver_jvm_peak_mb']:,} | {s['executor_heap_peak_mb']:,} | "
            f"{s['python_worker_peak_mb']:,} |"
        )
    if results["stages"]:
        total = results["pipeline_seconds"]
        rows_in = results["stages"][0]["rows_in"]
        shuffle = sum(st["shuffle_write_mb"] for st in results["stages"])
        lines.append(
            f"| whole pipeline ({', '.join(st['stage'] for st in results['stages'])}) "
            f"| {total} | {rows_in:,} | - | {round(rows_in / total) if total else 0:,} "
            f"| {round(shuffle, 1):,} "
            f"| {max(st['driver_jvm_peak_mb'] for st in results['stages']):,} "
            f"| {max(st['executor_heap_peak_mb'] for st in results['stages']):,} "
            f"| {max(st['python_worker_peak_mb'] for st in results['stages']):,} |"
        )
    for method, v in results.get("variants", {}).get("tokens", {}).items():
        lines.append(
            f"| tokens, {method} (variant) | {v['seconds']} | {v['identifiers']:,} | "
            f"{v['identifiers']:,} | {v['rows_per_second']:,} | - | - | - | - |"
        )
    for hint, v in results.get("variants", {}).get("link_ksz", {}).items():
        lines.append(
            f"| link KSZ, {hint} join (variant: {v['plan']}) | {v['seconds']} | "
            f"{v['rows_in']:,} | {v['linked']:,} | {v['rows_per_second']:,} | - | - | - | - |"
        )
    for s in results["stages"]:
        if s["stage"] == "deliver":
            lines += [
                "",
                f"Package: {s['package_bytes']:,} bytes for a release of {s['release_files']:,} "
                f"files ({s['release_bytes']:,} bytes), packaged in {s['seconds']} s.",
            ]
        if s["stage"] == "purge":
            lines += [
                "",
                f"Purge: {s['tables']} Delta tables, {s['files']:,} files "
                f"({s['bytes']:,} bytes) destroyed in {s['seconds']} s"
                + (" (already done by an earlier run)" if s["already_done"] else "")
                + ".",
            ]
    (folder / f"{name}.md").write_text("\n".join(lines) + "\n")
    for line in lines:
        ctx.log.info("benchmark: %s", line)
