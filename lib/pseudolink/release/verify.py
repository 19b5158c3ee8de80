"""Checks of a written release, from its folder alone: where it is, what its SCRA report says
(before and after treatment), that every file is the one the manifest lists, that no table
holds an INSZ-like value, and that no record or person is in a cell below k.

For the release-validation notebook (notebooks/02_release_validation.ipynb) and anyone who
receives a release: nothing here needs the trusted area.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.config import to_uri
from pseudolink.errors import InputError
from pseudolink.pseudo.check import INSZ_LIKE, RELEASE_COLUMN
from pseudolink.release.scra import (
    cell_size_distribution,
    frequencies,
    longitudinal_frequencies,
)
from pseudolink.storage import HadoopFs

MANIFEST = "manifest.json"
SCRA_JSON = "scra/scra.json"


def find_release(spark: SparkSession, path: str) -> str:
    """The release folder (URI) at ``path``: the folder itself when it has a manifest, else
    the newest complete release (by name) under ``path/release/`` or ``path/``."""
    fs = HadoopFs(spark)
    uri = to_uri(path)
    if fs.exists(f"{uri}/{MANIFEST}"):
        return uri
    for zone in (f"{uri}/release", uri):
        if fs.is_dir(zone):
            done = [
                e.name
                for e in fs.list(zone)
                if e.is_dir and fs.exists(f"{zone}/{e.name}/{MANIFEST}")
            ]
            if done:
                return f"{zone}/{sorted(done)[-1]}"
    raise InputError(f"{path}: no release here (a folder with {MANIFEST}, or a data root)")


def read_json(spark: SparkSession, uri: str) -> dict:
    fs = HadoopFs(spark)
    if not fs.exists(uri):
        raise InputError(f"{uri}: not found")
    return json.loads(fs.read_bytes(uri).decode("utf-8"))


class Tables(Mapping[str, DataFrame]):
    """The release's tables by name, each opened as a Delta table when first used."""

    def __init__(self, spark: SparkSession, folder: str, names: list[str]) -> None:
        self.spark, self.folder, self.names = spark, folder, list(names)
        self.opened: dict[str, DataFrame] = {}

    def __getitem__(self, name: str) -> DataFrame:
        if name not in self.names:
            raise KeyError(f"{self.folder}: no table '{name}' (tables: {', '.join(self.names)})")
        if name not in self.opened:
            self.opened[name] = self.spark.read.format("delta").load(f"{self.folder}/{name}")
        return self.opened[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class Release:
    """An opened release: its folder, its manifest and its tables (Spark DataFrames)."""

    folder: str
    manifest: dict
    tables: Mapping[str, DataFrame]

    @property
    def release_id(self) -> str:
        return str(self.manifest.get("release_id", ""))


def open_release(spark: SparkSession, path: str) -> Release:
    """Find the release at ``path`` (see :func:`find_release`); its tables are the Delta
    tables its manifest lists, opened when first used."""
    folder = find_release(spark, path)
    manifest = read_json(spark, f"{folder}/{MANIFEST}")
    return Release(folder, manifest, Tables(spark, folder, list(manifest["tables"])))


def scra_tables(scra: dict) -> dict[str, pd.DataFrame]:
    """The SCRA report's figures (scra/scra.json) as tables: ``risk`` per population and
    year, ``cell_sizes`` per population and class, ``longitudinal`` per population (each with
    a ``side``: before or after treatment), ``suppressions`` per variable, ``rounds``."""
    out = {}
    for name in ("risk", "cell_sizes", "longitudinal"):
        part = scra.get(name) or {}
        rows = [{"side": side, **r} for side in ("before", "after") for r in part.get(side, [])]
        out[name] = pd.DataFrame(rows)
    loss = scra.get("information_loss") or {}
    out["suppressions"] = pd.DataFrame(
        sorted((loss.get("suppressions") or {}).items()), columns=["variable", "suppressions"]
    )
    out["rounds"] = pd.DataFrame(scra.get("rounds") or [])
    return out


def verify_manifest(spark: SparkSession, release: Release) -> list[str]:
    """Files whose size or SHA-256 differs from the manifest, or that are missing."""
    fs = HadoopFs(spark)
    problems = []
    for entry in release.manifest.get("files", []):
        uri = f"{release.folder}/{entry['path']}"
        if not fs.exists(uri):
            problems.append(f"{entry['path']}: missing")
        elif fs.sha256(uri) != entry["sha256"]:
            problems.append(f"{entry['path']}: SHA-256 differs from the manifest")
    return problems


def insz_scan(release: Release) -> pd.DataFrame:
    """Per table: identifier columns (insz, source file or line) and the number of values
    that look like an INSZ (a run of exactly eleven digits) in its string columns; one pass
    over each table."""
    rows = []
    for name, df in release.tables.items():
        named = [f.name for f in df.schema.fields if RELEASE_COLUMN.search(f.name)]
        strings = [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType)]
        found = 0
        if strings:
            hits = [F.sum(F.col(c).rlike(INSZ_LIKE).cast("int")).alias(c) for c in strings]
            counts = df.agg(*hits).first()
            found = sum(int(counts[c] or 0) for c in strings) if counts else 0
        rows.append(
            {"table": name, "identifier_columns": ", ".join(named), "insz_like_values": found}
        )
    return pd.DataFrame(rows, columns=["table", "identifier_columns", "insz_like_values"])


def key_frame(release: Release, quasi_identifiers: list[str]) -> DataFrame:
    """The released demobel and census joined per population, year and person, with the
    quasi-identifiers: the frame the SCRA scored."""
    key = ["population", "year", "person_id"]
    demobel, census = release.tables["demobel"], release.tables["census"]
    mine = [q for q in quasi_identifiers if q in demobel.columns]
    theirs = [q for q in quasi_identifiers if q in census.columns]
    return demobel.select(*key, "household_id", *mine).join(
        census.select(*key, *theirs), key, "full"
    )


def recheck(release: Release, quasi_identifiers: list[str], k: int) -> tuple[dict, pd.DataFrame]:
    """The SCRA recomputed from the released demobel and census: records in a yearly cell
    below k and persons in a longitudinal one (sdcMicro's fk, missing values matching every
    category, as the release job counts), and the records per cell-size class and
    population (the SCRA report's 'after' distribution)."""
    frame = key_frame(release, quasi_identifiers).cache()
    scored = frequencies(frame, quasi_identifiers).cache()
    try:
        persons = longitudinal_frequencies(frame, quasi_identifiers)
        counts = {
            "records": scored.count(),
            "records_below_k": scored.filter(F.col("fk") < k).count(),
            "persons": persons.count(),
            "persons_below_k": persons.filter(F.col("long_fk") < k).count(),
        }
        sizes = cell_size_distribution(scored).orderBy("population", "cell_size").toPandas()
    finally:
        scored.unpersist()
        frame.unpersist()
    return counts, sizes
