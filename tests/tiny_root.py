"""A tiny data root built by hand, with every table purge checks and a small release: the
purge, deliver and retention tests copy it instead of running the pipeline."""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

from pseudolink.cli import JobContext
from pseudolink.config import load_config
from pseudolink.link.rules import RULES

# An INSZ-like value in the KSZ rows: its presence on disk is what the tests look for.
KSZ_INSZ = "85073003328"
RID = "r1"


def context(repo: Path, root: Path, spark, **sections) -> JobContext:
    config = load_config(repo / "conf" / "local.yaml", root=str(root))
    config = replace(config, **sections)
    ctx = JobContext("test", argparse.Namespace(), config, logging.getLogger("pseudolink"))
    ctx.__dict__["spark"] = spark
    return ctx


def delta(spark, path: Path, rows: list[tuple], schema: str, partition: str | None = None):
    writer = spark.createDataFrame(rows, schema).coalesce(1).write.format("delta")
    if partition:
        writer = writer.partitionBy(partition)
    writer.mode("overwrite").save(str(path))


def build(spark, root: Path) -> None:
    """bronze (KSZ, VDAB, Statbel, a quarantine with deletion vectors), trusted (linked,
    report, pseudonymised, key table), release r1 with its manifest, and an inbox. Few
    Delta writes: a table folder is self-contained, so most tables are copies."""
    b, t = root / "bronze", root / "trusted"
    two = [(KSZ_INSZ, "2016", "2016Q1"), ("90010112345", "2016", "2016Q2")]
    schema = "insz string, population string, period string"
    delta(spark, t / "linked" / "ksz" / "ksz_quarterly", two, schema)
    one = t / "linked" / "vdab" / "vdab_quarterly"
    delta(spark, one, [("90010112345", "2016", "2016Q1")], schema)
    ksz = [(KSZ_INSZ, "2016Q1"), ("90010112345", "2016Q2"), (None, "2016Q3")]
    delta(spark, b / "ksz" / "ksz_quarterly", ksz, "insz string, period string", "period")
    quarantine = [
        ("ksz", f"{KSZ_INSZ};2016Q1;bad", "BAD_CODE"),
        ("vdab", "90010112345;x", "BAD_COLUMN_COUNT"),
        ("statbel", "90010112346;y", "BAD_DATE"),
        ("statbel", None, "BAD_ENCODING"),
    ]
    q = b / "_quarantine"
    delta(spark, q, quarantine, "source string, raw_line string, reason string")
    spark.sql(f"ALTER TABLE delta.`{q}` SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    shutil.copytree(one, b / "vdab" / "vdab_quarterly")
    shutil.copytree(one, b / "statbel" / "demobel")
    shutil.copytree(one, t / "keys" / "persons")
    report = []
    for rule in RULES:
        linked = t / "linked" / rule.source / rule.kind
        if not linked.exists():
            shutil.copytree(one, linked)
        shutil.copytree(linked, t / "pseudonymised" / rule.kind)
        rows = {"ksz_quarterly": 3, "vdab_quarterly": 1}.get(rule.kind, 0)
        report.append({"table": rule.name, "bronze_rows": rows})
    (t / "linked" / "_report.json").write_text(json.dumps({"tables": report}))
    for name in ("populations", "moves"):
        shutil.copytree(one, t / "pseudonymised" / name)
    for name in ("membership", "moves"):
        shutil.copytree(one, t / "populations" / name)
    release(spark, root / "release" / RID)
    inbox(root)


TABLES = ("ksz", "vdab", "vdab_activation", "vdab_employment", "persons")


def release(spark, folder: Path, end_date: str = "2033-11-30") -> None:
    """A small release: Delta tables, a dictionary, a report, and the manifest last."""
    rows = [(i, "2016", f"class {i % 3}") for i in range(40)]
    schema = "person_id long, population string, value string"
    delta(spark, folder / TABLES[0], rows, schema, "population")
    for name in TABLES[1:]:
        shutil.copytree(folder / TABLES[0], folder / name)
    (folder / "dictionary.md").write_text("# dictionary\n")
    (folder / "scra").mkdir()
    (folder / "scra" / "scra_report.html").write_text("<html>PASS</html>")
    write_manifest(folder, end_date)


def write_manifest(folder: Path, end_date: str) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".crc"))
    manifest = {
        "release_id": folder.name,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "end_date": end_date,
        "tables": {n: {"rows": 40} for n in TABLES},
        "files": [
            {
                "path": str(p.relative_to(folder)),
                "bytes": p.stat().st_size,
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            }
            for p in files
            if p.name != "manifest.json"
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def inbox(root: Path) -> None:
    for source in ("ksz", "vdab", "statbel"):
        folder = root / "inbox" / source / f"{source}-1"
        folder.mkdir(parents=True)
        insz = KSZ_INSZ if source != "statbel" else "90010112345"
        (folder / "data.csv.gz").write_bytes(gzip.compress(f"{insz};x\n".encode()))
        (folder / "manifest.json").write_text("{}")


def copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


def files_containing(folder: Path, needle: str) -> list[Path]:
    """Files under ``folder`` whose bytes hold ``needle`` (plain or in a gzip member)."""
    found = []
    for p in folder.rglob("*"):
        if not p.is_file():
            continue
        data = p.read_bytes()
        if p.suffix == ".gz":
            data = gzip.decompress(data)
        if needle.encode() in data:
            found.append(p)
    return found
