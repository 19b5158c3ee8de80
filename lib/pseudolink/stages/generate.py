"""Generate the synthetic deliveries and the generator's truth under the data root."""

from __future__ import annotations

import json
import math
import shutil
import time
from collections import defaultdict
from pathlib import Path

from pseudolink.cli import JobContext
from pseudolink.config import uri_to_local_path
from pseudolink.errors import InputError
from pseudolink.generate.block import BlockJob, run_block
from pseudolink.generate.faultfiles import latin1_file, truncated_gzip
from pseudolink.generate.truth import HEADER as TRUTH_HEADER
from pseudolink.generate.writer import FAULT_HEADER, write_file
from pseudolink.progress import progress
from pseudolink.schemas import SOURCES, load_codelist, load_source

SENDERS = {"statbel": "Statbel", "ksz": "KSZ", "vdab": "VDAB"}
PERIODS = {
    "statbel": ("2016-01-01", "2024-12-31"),
    "ksz": ("2013-01-01", "2024-12-31"),
    "vdab": ("2013-01-01", "2024-12-31"),
}
MAX_BLOCKS = 497  # INSZ serials are interleaved between blocks


def inbox_has_deliveries(inbox: Path) -> bool:
    return any(inbox.glob("*/*/manifest.json"))


def interrupted(ctx: JobContext) -> bool:
    """A generation that was stopped before its end: the truth folder exists but its last
    file (faults.csv, written after every manifest) does not. Real deliveries have no
    truth folder and are never regenerated."""
    truth = uri_to_local_path(ctx.config.zone("truth"))
    return truth.exists() and not (truth / "faults.csv").exists()


def run(
    ctx: JobContext,
    persons: int | None = None,
    seed: int | None = None,
    inject_faults: bool = False,
    force: bool = False,
) -> dict:
    """Simulate ``persons`` residents and write the three sources' deliveries."""
    settings = ctx.config.generator
    persons = persons or settings.persons
    seed = settings.seed if seed is None else seed
    inbox = uri_to_local_path(ctx.config.zone("inbox"))
    truth = uri_to_local_path(ctx.config.zone("truth"))
    if inbox_has_deliveries(inbox) and not force:
        raise InputError(
            f"{inbox} already holds deliveries: generate into an empty data root "
            "(--root DIR) or pass --force to replace them"
        )
    blocks = math.ceil(persons / settings.block_size)
    if blocks > MAX_BLOCKS:
        raise InputError(
            f"--persons {persons} needs {blocks} blocks of {settings.block_size}; "
            f"at most {MAX_BLOCKS}: raise generator.block_size in the config"
        )
    for source in SOURCES:
        shutil.rmtree(inbox / source, ignore_errors=True)
    shutil.rmtree(truth, ignore_errors=True)
    headers = {
        kind: spec.names
        for source in SOURCES
        for kind, spec in load_source(ctx.config.conf_dir, source).files.items()
    }
    regions: dict[str, list[str]] = defaultdict(list)
    for code, row in load_codelist(ctx.config.conf_dir, "municipality").items():
        regions[row["region"]].append(code)
    jobs = [
        BlockJob(
            b,
            blocks,
            persons // blocks + (b < persons % blocks),
            seed,
            str(inbox),
            str(truth),
            dict(settings.deliveries),
            headers,
            tuple(settings.gzip_sources),
            inject_faults,
            dict(regions),
        )
        for b in range(blocks)
    ]
    ctx.log.info(
        "generate: %d persons in %d block(s), seed %d, into %s", persons, blocks, seed, inbox
    )
    started = time.monotonic()
    sc = ctx.spark.sparkContext
    sc.setJobDescription(f"generate {persons} persons")
    # Only each block's small metadata comes back to the driver, never the records.
    try:
        with progress(sc, "generate", ctx.log):
            collected = sc.parallelize(jobs, len(jobs)).map(run_block).collect()
    finally:
        sc.setJobDescription(None)  # the later stages' jobs are not "generate"
    results = sorted(collected, key=lambda r: r["block"])
    seconds = time.monotonic() - started
    faults = [f for r in results for f in r["faults"]]
    files = [f for r in results for f in r["files"]]
    if inject_faults:
        files, faults = _file_faults(inbox, settings.deliveries, files, faults)
    _write_manifests(inbox, files)
    _write_truth(truth, results, faults)
    rows = sum(f["rows"] for f in files)
    size = sum(f["bytes"] for f in files)
    summary = {
        "persons": persons,
        "persons_simulated": sum(r["persons"] for r in results),
        "households": sum(r["households"] for r in results),
        "blocks": blocks,
        "files": len(files),
        "rows": rows,
        "bytes": size,
        "seconds": round(seconds, 1),
        "rows_per_second": round(rows / seconds) if seconds else None,
        "faults": len(faults),
    }
    by_kind: dict[str, int] = defaultdict(int)
    for f in files:
        by_kind[f["kind"]] += f["rows"]
    ctx.log.info(
        "generate: %s rows in %d files (%.1f MB) in %.1f s, %s rows/s; %s",
        f"{rows:,}",
        len(files),
        size / 1e6,
        seconds,
        f"{summary['rows_per_second']:,}",
        ", ".join(f"{k} {v:,}" for k, v in sorted(by_kind.items())),
    )
    ctx.audit.add(
        "generate",
        outputs=["inbox", "truth"],
        counts={k: summary[k] for k in ("persons", "files", "rows", "bytes", "faults")},
        seed=seed,
    )
    return summary


def _file_faults(
    inbox: Path, deliveries: dict[str, str], files: list[dict], faults: list[tuple]
) -> tuple[list[dict], list[tuple]]:
    first = {
        f["kind"]: f
        for f in files
        if f["name"].endswith("-0000.csv") or f["name"].endswith("-0000.csv.gz")
    }
    act, ksz = first["vdab_activation"], first["ksz_quarterly"]
    latin_delivery = f"{deliveries['vdab']}-fault-latin1"
    meta, lines = latin1_file(
        inbox / "vdab" / act["delivery"] / act["name"],
        inbox / "vdab" / latin_delivery / "vdab_activation-0000.csv",
        1,
    )
    files.append({**meta, "source": "vdab", "delivery": latin_delivery, "kind": "vdab_activation"})
    faults += [(latin_delivery, meta["name"], line, "latin1_bytes") for line in lines]
    gz_delivery = f"{deliveries['ksz']}-fault-truncated"
    meta = truncated_gzip(
        inbox / "ksz" / ksz["delivery"] / ksz["name"],
        inbox / "ksz" / gz_delivery / "ksz_quarterly-0000.csv.gz",
    )
    files.append({**meta, "source": "ksz", "delivery": gz_delivery, "kind": "ksz_quarterly"})
    faults.append((gz_delivery, meta["name"], "", "truncated_gzip"))
    return files, faults


def _write_manifests(inbox: Path, files: list[dict]) -> None:
    deliveries: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for f in files:
        deliveries[(f["source"], f["delivery"])].append(f)
    for (source, delivery), listed in sorted(deliveries.items()):
        start, end = PERIODS[source]
        manifest = {
            "format": "pseudolink-delivery/1",
            "source": source,
            "delivery_id": delivery,
            "sender": SENDERS[source],
            "period": {"from": start, "to": end},
            "files": [
                {"name": f["name"], "kind": f["kind"], "rows": f["rows"], "sha256": f["sha256"]}
                for f in sorted(listed, key=lambda f: f["name"])
            ],
        }
        text = json.dumps(manifest, indent=2) + "\n"
        write_file(inbox / source / delivery / "manifest.json", text.encode("utf-8"))


def _write_truth(truth: Path, results: list[dict], faults: list[tuple]) -> None:
    parts = truth / "parts"
    with (truth / "populations.csv").open("wb") as out:
        out.write((TRUTH_HEADER + "\n").encode("utf-8"))
        for r in results:
            part = parts / f"populations-{r['block']:04d}.csv"
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, out)
    shutil.rmtree(parts)
    lines = [FAULT_HEADER] + [";".join(str(x) for x in f) for f in faults]
    write_file(truth / "faults.csv", ("\n".join(lines) + "\n").encode("utf-8"))
