"""Cohorts stage: the population membership, moves and windows in trusted/, and the
extraction request for KSZ and VDAB in outbox/requests/."""

from __future__ import annotations

import json

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.catalog import POPULATION_TABLES, POPULATIONS, REQUESTS, Catalog
from pseudolink.cli import JobContext
from pseudolink.cohorts.followup import with_follow_up
from pseudolink.cohorts.selection import filter_index_persons, presence
from pseudolink.cohorts.windows import extraction_request, moves, observation_windows
from pseudolink.schemas import load_codelist
from pseudolink.storage import HadoopFs, read_delta, write_delta

REQUEST_SOURCES = ("ksz", "vdab")


def read_bronze(ctx: JobContext, kind: str) -> DataFrame:
    return read_delta(
        ctx.spark,
        ctx.catalog.bronze_table("statbel", kind),
        "bronze",
        "ingest Statbel's delivery first: ./spark-submit.sh ingest",
    )


def municipalities(ctx: JobContext) -> DataFrame:
    codes = load_codelist(ctx.config.conf_dir, "municipality")
    rows = [(code, row["region"]) for code, row in codes.items()]
    return ctx.spark.createDataFrame(rows, "code string, region string")


def build(ctx: JobContext) -> dict[str, DataFrame]:
    """The membership (with ``end_quarter``, which only the windows keep), not yet
    written."""
    settings = ctx.config.cohorts
    present = presence(read_bronze(ctx, "demobel"), municipalities(ctx)).cache()
    index = filter_index_persons(present, read_bronze(ctx, "census"), settings).cache()
    events = read_bronze(ctx, "demobel_events")
    membership = with_follow_up(index, present, events, settings)
    return {"membership": membership, "present": present, "index": index}


def run(ctx: JobContext) -> dict[int, dict[str, int]]:
    """Build and write the populations; return their sizes per reference year."""
    settings = ctx.config.cohorts
    built = build(ctx)
    # The end quarter goes to the windows only: the membership is delivered (pseudonymised)
    # and the deliberation gives the researchers the year of a move, not its quarter.
    full = built["membership"].persist()
    membership_path = ctx.catalog.population("membership")
    write_delta(full.drop("end_quarter"), membership_path, ["population"], overwrite_schema=True)
    windows_path = ctx.catalog.population("windows")
    write_delta(observation_windows(full, settings), windows_path, overwrite_schema=True)
    full.unpersist()
    built["present"].unpersist()
    built["index"].unpersist()
    membership = ctx.spark.read.format("delta").load(membership_path)
    write_delta(moves(membership), ctx.catalog.population("moves"), overwrite_schema=True)
    windows = ctx.spark.read.format("delta").load(windows_path)
    write_request(ctx, extraction_request(windows))
    sizes = population_sizes(membership)
    for year, counts in sorted(sizes.items()):
        ctx.log.info(
            "cohorts: population %d: %s", year, ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
    ctx.audit.add(
        "cohorts",
        inputs=["bronze/statbel/demobel", "bronze/statbel/census", "bronze/statbel/demobel_events"],
        outputs=[f"trusted/{POPULATIONS}/{t}" for t in POPULATION_TABLES]
        + [f"outbox/{REQUESTS}/{settings.request_id}"],
        counts={str(y): c for y, c in sizes.items()},
    )
    return sizes


def pipeline_step(ctx: JobContext) -> tuple[list[str], dict]:
    """The stage as the pipeline runs it: summary lines, population sizes."""
    sizes = run(ctx)
    lines = [
        f"population {year}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        for year, counts in sorted(sizes.items())
    ]
    return lines, {"sizes": sizes}


def outputs(catalog: Catalog, extra: dict) -> list[str]:
    """What the stage writes: the three population tables and the extraction request."""
    return [catalog.population(n) for n in POPULATION_TABLES] + [catalog.request()]


def population_sizes(membership: DataFrame) -> dict[int, dict[str, int]]:
    """Index persons, members, joiners and follow-up ends per population (one aggregation)."""
    rows = (
        membership.groupBy("population")
        .agg(
            F.sum(F.when(F.col("role") == "index", 1).otherwise(0)).alias("index"),
            F.sum(
                F.when(
                    (F.col("role") == "member") & (F.col("valid_from") == F.col("population")), 1
                ).otherwise(0)
            ).alias("members"),
            F.sum(F.when(F.col("valid_from") > F.col("population"), 1).otherwise(0)).alias(
                "joiners"
            ),
            F.sum(F.when(F.col("end_reason") == "left_household", 1).otherwise(0)).alias("left"),
            F.sum(F.when(F.col("end_reason").startswith("moved"), 1).otherwise(0)).alias("moved"),
            F.sum(F.when(F.col("end_reason") == "died", 1).otherwise(0)).alias("died"),
        )
        .collect()
    )
    return {
        int(r["population"]): {k: int(r[k]) for k in r.asDict() if k != "population"} for r in rows
    }


def write_request(ctx: JobContext, request: DataFrame) -> None:
    """One CSV per source (``insz;population;from_quarter;to_quarter``) and a manifest,
    in outbox/requests/<request_id>/, as Statbel would put them on the SFTP server."""
    fs = HadoopFs(ctx.spark)
    folder = ctx.catalog.request()
    staging = f"{folder}/_staging"
    (
        request.repartition(1)
        .sortWithinPartitions("population", "insz")
        .write.mode("overwrite")
        .option("sep", ";")
        .option("header", "true")
        .csv(staging)
    )
    part = next(e.name for e in fs.list(staging) if e.name.startswith("part-"))
    rows = request.count()
    files = []
    for source in REQUEST_SOURCES:
        name = f"{source}_request.csv"
        fs.copy(f"{staging}/{part}", f"{folder}/{name}")
        files.append(
            {
                "name": name,
                "recipient": source.upper(),
                "rows": rows,
                "sha256": fs.sha256(f"{folder}/{name}"),
            }
        )
    fs.delete(staging)
    manifest = {
        "format": "pseudolink-request/1",
        "request_id": ctx.config.cohorts.request_id,
        "sender": "Statbel",
        "columns": request.columns,
        "files": files,
    }
    fs.write_text(f"{folder}/manifest.json", json.dumps(manifest, indent=2) + "\n")
    ctx.log.info(
        "cohorts: extraction request of %s persons x populations in %s", f"{rows:,}", folder
    )
