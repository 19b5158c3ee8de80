"""One Spark task's work: simulate a block of households and write its delivery files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pseudolink.generate import params as P
from pseudolink.generate import records
from pseudolink.generate.careers import catch_up, simulate_quarter
from pseudolink.generate.demography import snapshot, year_events
from pseudolink.generate.population import Block
from pseudolink.generate.truth import population_rows
from pseudolink.generate.writer import compress, encode_rows, inject_row_faults, write_file

KIND_SOURCE = {
    "census": "statbel",
    "demobel": "statbel",
    "demobel_events": "statbel",
    "adi": "statbel",
    "ksz_quarterly": "ksz",
    "vdab_quarterly": "vdab",
    "vdab_activation": "vdab",
    "vdab_employment": "vdab",
}


@dataclass(frozen=True)
class BlockJob:
    block: int
    blocks: int
    persons: int
    seed: int
    inbox: str
    truth: str
    deliveries: dict[str, str]  # source -> delivery id
    headers: dict[str, list[str]]  # kind -> column names
    gzip_sources: tuple[str, ...]
    inject_faults: bool
    municipalities: dict[str, list[str]]


def simulate(job: BlockJob) -> Block:
    block = Block(job.block, job.blocks, job.seed, job.municipalities)
    block.populate(job.persons)
    for year in P.YEARS:
        snapshot(block, year)
        year_events(block, year)
        for p in block.late_joiners:
            catch_up(block, p, (year - P.FIRST_YEAR) * 4)
        block.late_joiners.clear()
        for q in range(4):
            simulate_quarter(block, (year - P.FIRST_YEAR) * 4 + q)
    snapshot(block, P.LAST_YEAR + 1)
    return block


def kind_rows(block: Block) -> dict[str, list[list[str]]]:
    rows: dict[str, list[list[str]]] = {"demobel": [], "census": [], "adi": []}
    for year in P.STATBEL_YEARS:
        demobel, census, adi = records.statbel_rows(block, year)
        rows["demobel"] += demobel
        rows["census"] += census
        rows["adi"] += adi
    rows["demobel_events"] = list(records.event_rows(block))
    rows["ksz_quarterly"] = list(records.ksz_rows(block))
    rows["vdab_quarterly"] = list(records.vdab_quarterly_rows(block))
    rows["vdab_activation"] = list(records.vdab_activation_rows(block))
    rows["vdab_employment"] = list(records.vdab_employment_rows(block))
    return rows


def file_name(kind: str, block: int, gz: bool) -> str:
    return f"{kind}-{block:04d}.csv" + (".gz" if gz else "")


def run_block(job: BlockJob) -> dict:
    """Simulate, write this block's files and truth part; return their metadata."""
    block = simulate(job)
    files, faults = [], []
    for kind, rows in kind_rows(block).items():
        source = KIND_SOURCE[kind]
        delivery = job.deliveries[source]
        gz = source in job.gzip_sources
        name = file_name(kind, job.block, gz)
        if job.inject_faults and job.block == 0:
            rows, marks = inject_row_faults(kind, rows, job.headers[kind], job.seed)
            faults += [(delivery, name, line, fault) for line, fault in marks]
        data, n = encode_rows(job.headers[kind], rows)
        if gz:
            data = compress(data)
        digest = write_file(Path(job.inbox, source, delivery, name), data)
        files.append(
            {
                "source": source,
                "delivery": delivery,
                "name": name,
                "kind": kind,
                "rows": n,
                "sha256": digest,
                "bytes": len(data),
            }
        )
    truth = list(population_rows(block))
    text = "".join(line + "\n" for line in truth).encode("utf-8")
    write_file(Path(job.truth, "parts", f"populations-{job.block:04d}.csv"), text)
    households = len({s[0] for p in block.persons for s in p.snap.values()})
    return {
        "block": job.block,
        "files": files,
        "faults": faults,
        "truth_rows": len(truth),
        "persons": len(block.persons),
        "households": households,
    }
