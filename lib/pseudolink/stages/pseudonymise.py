"""Pseudonymise stage: every identifier of the linked tables becomes its sequence number.

1. The identifiers: persons (the populations' INSZ and DEMOBEL's reference persons) and
   households (the populations' and the linked Statbel tables' household ids).
2. Their keyed tokens (HMAC-SHA256 under the keystore's per-domain keys; method native
   or udf, :mod:`pseudolink.pseudo.tokens`), computed once per distinct identifier.
3. The key tables (``trusted/keys/{persons,households}``) get the new tokens, numbered in
   a random order (MERGE: known tokens keep their number).
4. Every linked table, the population membership and the moves are written with numbers
   instead of identifiers to ``trusted/pseudonymised/<table>``.
5. Each written table is checked for anything that looks like an identifier; a finding
   removes what was written and fails the run.
Details: docs/pseudonymise.md.
"""

from __future__ import annotations

import time
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.catalog import PSEUDONYMISED, Catalog
from pseudolink.cli import JobContext
from pseudolink.errors import PseudolinkError
from pseudolink.keys.keystore import Keystore
from pseudolink.link.rules import RULES
from pseudolink.pseudo.check import identifier_findings
from pseudolink.pseudo.keytable import assign
from pseudolink.pseudo.order import neutral_order
from pseudolink.pseudo.replace import pseudonymise_frame
from pseudolink.pseudo.tokens import token
from pseudolink.purged import PURGED_SOURCES, purge_state, refuse_if_purged
from pseudolink.stages import keys
from pseudolink.storage import HadoopFs, last_commit, read_delta, write_delta

BYTES_PER_MAPPING = 40


def tables(ctx: JobContext) -> dict[str, DataFrame]:
    """The trusted tables to pseudonymise, by output name. After a purge, the linked KSZ
    and VDAB tables are gone; they hold no identifier the others lack (the INSZ of the
    populations, no household id), so keys rotate and reidentify read the rest."""
    cat, before = ctx.catalog, "run the stages before pseudonymise first"
    out = {
        "populations": read_delta(ctx.spark, cat.population("membership"), "membership", before),
        "moves": read_delta(ctx.spark, cat.population("moves"), "moves", before),
    }
    purged = purge_state(ctx) is not None
    for rule in RULES:
        if purged and rule.source in PURGED_SOURCES:
            continue
        path = cat.linked(rule.source, rule.kind)
        out[rule.kind] = read_delta(ctx.spark, path, f"linked {rule.name}", before)
    return out


def identifiers(frames: dict[str, DataFrame]) -> dict[str, DataFrame]:
    """Per domain, the distinct identifiers (column ``id``) that need a number.

    Persons: the populations' INSZ (every linked row's INSZ is one of them: the link joins
    on them) and DEMOBEL's reference persons. Households: every household id column."""
    persons = [
        frames["populations"].select(F.col("insz").alias("id")),
        frames["demobel"].select(F.col("reference_person_insz").alias("id")),
    ]
    households = [
        f.select(F.col("household_id").alias("id"))
        for f in frames.values()
        if "household_id" in f.columns
    ]

    def union(parts: list[DataFrame]) -> DataFrame:
        return reduce(DataFrame.unionByName, parts).filter(F.col("id").isNotNull()).distinct()

    return {"persons": union(persons), "households": union(households)}


def domain_key(keystore: Keystore, domain: str) -> bytes:
    return keystore.person_key() if domain == "persons" else keystore.household_key()


def with_tokens(ids: DataFrame, key: bytes, method: str) -> DataFrame:
    return ids.select("id", token(F.col("id"), key, method).alias("token"))


def run(ctx: JobContext) -> dict:
    """Pseudonymise every linked table; returns counts per domain and table."""
    refuse_if_purged(ctx, "pseudonymise", "the linked KSZ and VDAB tables of trusted/linked/")
    keystore = keys.open_for_run(ctx)
    method = ctx.config.pseudonymise.method
    frames = tables(ctx)
    fs = HadoopFs(ctx.spark)
    summary: dict = {"method": method, "key_id": keystore.key_id, "domains": {}, "tables": {}}
    maps: dict[str, DataFrame] = {}
    for domain, ids in identifiers(frames).items():
        started = time.monotonic()
        tokens = with_tokens(ids, domain_key(keystore, domain), method).cache()
        distinct = tokens.count()
        tokens_seconds = time.monotonic() - started
        path = ctx.catalog.key_table(domain)
        counts = assign(ctx.spark, path, tokens, keystore.key_id, keystore.numbering_key(domain))
        table = ctx.spark.read.format("delta").load(path)
        mapping = tokens.join(table.select("token", "seq"), "token").select("id", "seq").cache()
        mapped = mapping.count()
        tokens.unpersist()
        if mapped != distinct:
            raise PseudolinkError(
                f"pseudonymise: {distinct - mapped} {domain} got no sequence number"
            )
        maps[domain] = mapping
        summary["domains"][domain] = {
            **counts,
            "identifiers": distinct,
            "token_seconds": round(tokens_seconds, 2),
            "tokens_per_second": round(distinct / tokens_seconds) if tokens_seconds else 0,
        }
        ctx.log.info(
            "pseudonymise: %s: %s identifiers (%s new numbers, %s in the key table), "
            "tokens (%s) in %.1f s",
            domain,
            f"{distinct:,}",
            f"{counts['added']:,}",
            f"{counts['total']:,}",
            method,
            tokens_seconds,
        )
    broadcast = ctx.config.link.join != "sort_merge"
    known_households = frames["populations"].select("household_id")
    try:
        for name, frame in frames.items():
            started = time.monotonic()
            out = ctx.catalog.pseudonymised(name)
            result = pseudonymise_frame(frame, maps, broadcast=broadcast)
            parts = [c for c in ("population", "period") if c in result.columns]
            # Rows in an order that carries nothing: by the (random) sequence number.
            seq = "person_seq" if "person_seq" in result.columns else "household_seq"
            result = neutral_order(result, parts, seq)
            write_delta(result, out, parts, overwrite_schema=True)
            written = ctx.spark.read.format("delta").load(out)
            findings = identifier_findings(written, known_households)
            if findings:
                raise PseudolinkError(
                    f"pseudonymise: {out}: " + "; ".join(findings) + ": nothing is kept"
                )
            _, rows = last_commit(ctx.spark, out)  # the write's own row count
            summary["tables"][name] = {
                "rows": rows,
                "seconds": round(time.monotonic() - started, 2),
            }
            ctx.log.info("pseudonymise: %s: %s rows checked, no identifier", name, f"{rows:,}")
    except BaseException:
        fs.delete(ctx.catalog.trusted(PSEUDONYMISED))
        raise
    finally:
        for m in maps.values():
            m.unpersist()
    ctx.audit.add(
        "pseudonymise",
        inputs=["trusted/populations/membership", "trusted/populations/moves"]
        + [f"trusted/linked/{r.source}/{r.kind}" for r in RULES],
        outputs=[f"trusted/{PSEUDONYMISED}/{n}" for n in summary["tables"]]
        + [f"trusted/keys/{d}" for d in summary["domains"]],
        counts={
            "tables": {n: t["rows"] for n, t in summary["tables"].items()},
            "numbers": {
                d: {"total": c["total"], "added": c["added"]} for d, c in summary["domains"].items()
            },
        },
        key_id=keystore.key_id,
        method=method,
    )
    return summary


def pipeline_step(ctx: JobContext) -> tuple[list[str], dict]:
    """The stage as the pipeline runs it: numbers per domain, the tables written."""
    summary = run(ctx)
    lines = [
        f"pseudonymise {domain}: {c['total']:,} numbers ({c['added']:,} new)"
        for domain, c in summary["domains"].items()
    ]
    return lines, {"domains": summary["domains"], "tables": list(summary["tables"])}


def outputs(catalog: Catalog, extra: dict) -> list[str]:
    """What the stage writes: the pseudonymised tables and the key tables."""
    return [catalog.pseudonymised(n) for n in extra["tables"]] + [
        catalog.key_table(d) for d in extra["domains"]
    ]
