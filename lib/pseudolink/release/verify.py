"""Checks of a written release, from its folder alone: where it is, what its SCRA summary says
(the scenarios before and after treatment, as tables), that every file is the one the
manifest lists, that no table holds an INSZ-like value, and that no unit of any scenario is
below k when recounted from the released tables.

For the release-validation notebook (notebooks/02_release_validation.ipynb) and anyone who
receives a release: nothing here needs the trusted area.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.config import CohortSettings, to_uri
from pseudolink.errors import InputError
from pseudolink.pseudo.check import INSZ_LIKE, RELEASE_COLUMN
from pseudolink.release.build import EVENT, EVENT_KIND, NO_EVENT, YES
from pseudolink.release.rules import Scenario
from pseudolink.release.scra import frequencies
from pseudolink.release.treat import household_frequencies
from pseudolink.storage import HadoopFs

MANIFEST = "manifest.json"
SCRA_JSON = "scra/scra.json"
SHOWN_K = (2, 3, 5)  # the k at which the SCRA summary counts units below k
LAST_YEAR = CohortSettings().last_year  # the end of follow-up (conf cohorts.last_year)
# The released tables the person and household scenarios' keys come from, in this order:
# the persons table (once per person), then the annual tables at the first year followed.
PERSON_TABLE = "persons"
YEAR_TABLES = ("demobel", "census")
ID = ["population", "person_id"]


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
    """The SCRA summary's figures (scra/scra.json) as tidy tables, each with its columns
    even when the summary has no rows for it (a refused or partial run):

    - ``scenarios``: per scenario (and table, for a row scenario) and side (before or after
      treatment): ``k_2``, ``k_3``, ``k_5`` (units below k = 2, 3, 5), ``below_k`` (below
      the scenario's own ``k``, when the summary has it), ``units`` and whether it
      ``passed``;
    - ``levels``: per key with a hierarchy, its start and chosen level and their classes;
    - ``lattice``: the nodes global recoding evaluated (a column per key's level);
    - ``keys``: per key, values, suppressed, share suppressed, classes before and after,
      information loss; ``categories``: per key and value, before, after and the change;
    - ``transitions``: per column, changes before and after and the share kept;
    - ``household_risk``: per side, the highest and mean household risk;
    - ``panels``: per panel and population, persons, unique and below k (with shares);
    - ``rounds``: per treatment round, its phase, scenario, detail and the units below k
      of each person and household scenario after it.
    """
    s = scra if isinstance(scra, Mapping) else {}
    shown = [str(k) for k in SHOWN_K]
    rows = []
    for sc in _records(s.get("scenarios")):
        base = {
            "scenario": sc.get("name"),
            "unit": sc.get("unit"),
            "k": sc.get("k", s.get("k")),
            "passed": sc.get("passed"),
        }
        if sc.get("unit") == "row":
            sides = [
                (str(table), _dict(part)) for table, part in _dict(sc.get("tables_below_k")).items()
            ]
        else:
            sides = [("", _dict(sc.get("below_k")))]
        for table, part in sides:
            for side in ("before", "after"):
                figures = _dict(part.get(side))
                rows.append(
                    {
                        **base,
                        "table": table,
                        "side": side,
                        **{f"k_{t}": figures.get(t) for t in shown},
                        "below_k": figures.get(str(base["k"])),
                        "units": figures.get("units"),
                    }
                )
    scenario_columns = ["scenario", "unit", "table", "side", *[f"k_{t}" for t in shown]]
    scenario_columns += ["below_k", "units", "k", "passed"]
    out = {"scenarios": pd.DataFrame(rows, columns=scenario_columns)}

    levels = [{"key": key, **_dict(v)} for key, v in _dict(s.get("levels")).items()]
    out["levels"] = pd.DataFrame(
        levels, columns=["key", "start", "chosen", "start_label", "chosen_label"]
    )
    nodes = _records(s.get("lattice"))
    level_columns = list(dict.fromkeys(k for n in nodes for k in _dict(n.get("levels"))))
    out["lattice"] = pd.DataFrame(
        [
            {
                "node": i,
                **_dict(n.get("levels")),
                **{c: n.get(c) for c in ("loss", "persons_below_k", "share", "chosen")},
            }
            for i, n in enumerate(nodes, 1)
        ],
        columns=["node", *level_columns, "loss", "persons_below_k", "share", "chosen"],
    )

    keys = _dict(s.get("keys"))
    key_columns = ["values", "suppressed", "share_suppressed", "classes_before"]
    key_columns += ["classes_after", "information_loss"]
    out["keys"] = pd.DataFrame(
        [{"key": k, **{c: _dict(v).get(c) for c in key_columns}} for k, v in keys.items()],
        columns=["key", *key_columns],
    )
    categories = [
        {"key": k, "value": c.get("value"), "before": c.get("before"), "after": c.get("after")}
        for k, v in keys.items()
        for c in _records(_dict(v).get("categories"))
    ]
    out["categories"] = pd.DataFrame(categories, columns=["key", "value", "before", "after"])
    out["categories"]["change"] = pd.to_numeric(
        out["categories"]["after"], errors="coerce"
    ) - pd.to_numeric(out["categories"]["before"], errors="coerce")

    out["transitions"] = pd.DataFrame(
        [{"column": c, **_dict(v)} for c, v in _dict(s.get("transitions")).items()],
        columns=["column", "before", "after", "kept"],
    )
    risk = _dict(s.get("household_risk"))
    out["household_risk"] = pd.DataFrame(
        [
            {"scenario": risk.get("scenario"), "side": side, **_dict(risk.get(side))}
            for side in ("before", "after")
            if _dict(risk.get(side))
        ],
        columns=["scenario", "side", "max", "mean"],
    )
    panels = pd.DataFrame(
        [
            {"table": p.get("table"), "column": p.get("column"), **row}
            for p in _records(s.get("panels"))
            for row in _records(p.get("populations"))
        ],
        columns=["table", "column", "population", "persons", "unique", "below_k"],
    )
    persons = pd.to_numeric(panels["persons"], errors="coerce").where(lambda n: n > 0)
    panels["unique_share"] = pd.to_numeric(panels["unique"], errors="coerce") / persons
    panels["below_k_share"] = pd.to_numeric(panels["below_k"], errors="coerce") / persons
    out["panels"] = panels

    rounds = _records(s.get("rounds"))
    names = list(dict.fromkeys(n for r in rounds for n in _dict(r.get("below_k"))))
    out["rounds"] = pd.DataFrame(
        [
            {
                "round": i,
                **{c: r.get(c) for c in ("phase", "scenario", "detail")},
                **_dict(r.get("below_k")),
            }
            for i, r in enumerate(rounds)
        ],
        columns=["round", "phase", "scenario", "detail", *names],
    )
    return out


def _dict(value: Any) -> dict:
    return dict(value) if isinstance(value, Mapping) else {}


def _records(value: Any) -> list[dict]:
    return [dict(r) for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


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


RECHECK_COLUMNS = [
    "scenario",
    "unit",
    "table",
    "k",
    "units",
    "below_k",
    *[f"below_{k}" for k in SHOWN_K],
    "scra_below_k",
]


def person_frame(
    release: Release, keys: list[str], event: bool = False, last_year: int = LAST_YEAR
) -> DataFrame:
    """One row per person and population from the released tables alone: ``household_id``,
    ``ref_year`` (the first year followed) and ``keys``, taken from ``persons`` or else
    from the demobel or census row of the first year followed (a suppressed value is
    null); with ``event``, ``_event`` and ``_event_kind`` as the release job builds them
    (the year and the kind of the end of follow-up: moved out, else the end reason of the
    last membership, else ended; ``none`` when followed to ``last_year``; the kind is
    missing where ``moved_out`` is, suppressed)."""
    persons = release.tables[PERSON_TABLE]
    mine = [k for k in keys if k in persons.columns]
    frame = persons.select(
        F.col("population").cast("int").alias("population"),
        "person_id",
        F.col("first_year").cast("int").alias("ref_year"),
        "last_year",
        "moved_out",
        *mine,
    )
    taken, households = set(mine), []
    for name in YEAR_TABLES:
        table = release.tables[name]
        theirs = [k for k in keys if k not in taken and k in table.columns]
        taken.update(theirs)
        households.append(F.col(f"_hh_{name}"))
        part = table.select(
            F.col("population").cast("int").alias("population"),
            F.col("year").cast("int").alias("ref_year"),
            "person_id",
            F.col("household_id").alias(f"_hh_{name}"),
            *theirs,
        )
        frame = frame.join(part, ["population", "ref_year", "person_id"], "left")
    missing = [k for k in keys if k not in taken]
    if missing:
        raise InputError(
            f"{release.folder}: key(s) {', '.join(missing)} in no released table of "
            f"{', '.join([PERSON_TABLE, *YEAR_TABLES])}"
        )
    frame = frame.withColumn("household_id", F.coalesce(*households))
    if event:
        membership = release.tables["household_membership"]
        ends = membership.groupBy(
            F.col("population").cast("int").alias("population"), "person_id"
        ).agg(F.max_by("end_reason", "valid_to").alias("_end_reason"))
        kind = (
            F.when(F.col("moved_out").isNull(), F.lit(None))
            .when(F.col("moved_out") == YES, F.lit("moved_out"))
            .otherwise(F.coalesce(F.col("_end_reason"), F.lit("ended")))
        )
        ended = F.col("last_year") < F.lit(last_year)
        frame = (
            frame.join(ends, ID, "left")
            .withColumn(
                EVENT, F.when(ended, F.col("last_year").cast("string")).otherwise(F.lit(NO_EVENT))
            )
            .withColumn(EVENT_KIND, F.when(ended, kind).otherwise(F.lit(NO_EVENT)))
        )
    extra = [EVENT, EVENT_KIND] if event else []
    return frame.select(*ID, "household_id", "ref_year", *keys, *extra)


def recheck(release: Release, scra: dict, last_year: int = LAST_YEAR) -> pd.DataFrame:
    """Every scenario of ``scra["scenarios"]`` recounted from the released tables alone
    with the library's measures: a person scenario on :func:`person_frame` with
    :func:`pseudolink.release.scra.frequencies` per population (a missing value matches
    every category), the household scenario with
    :func:`pseudolink.release.treat.household_frequencies` (households at the reference
    date, exact match), a row scenario on each of its released tables with ``frequencies``
    per population. One row per scenario (and table): ``units`` (persons, households at
    the reference date, rows), ``below_k`` at the scenario's k, ``below_2``, ``below_3``,
    ``below_5``, and ``scra_below_k``, what the summary says after treatment at that k."""
    scenarios = _records((scra or {}).get("scenarios"))
    wanted = [sc for sc in scenarios if sc.get("unit") in ("person", "household")]
    keys = list(
        dict.fromkeys(
            str(k)
            for sc in wanted
            for k in [*(sc.get("keys") or []), *(sc.get("member_keys") or [])]
        )
    )
    event = any(sc.get("event") and sc.get("unit") == "person" for sc in wanted)
    frame = person_frame(release, keys, event, last_year).cache() if wanted else None
    rows = []
    try:
        for sc in scenarios:
            name, unit = str(sc.get("name", "")), sc.get("unit")
            k = int(sc.get("k") or (scra or {}).get("k") or 0)
            base = {"scenario": name, "unit": unit, "k": k}
            if unit == "person" and frame is not None:
                sc_keys = [str(q) for q in sc.get("keys") or []]
                sc_keys += [EVENT, EVENT_KIND] if sc.get("event") else []
                scored = frequencies(frame, sc_keys, by=("population",))
                counts = _below(scored, "fk", k)
                summary = _dict(_dict(sc.get("below_k")).get("after"))
                rows.append({**base, "table": "", **counts, "scra_below_k": summary.get(str(k))})
            elif unit == "household" and frame is not None:
                scenario = Scenario(
                    description="",
                    unit="household",
                    keys=[str(q) for q in sc.get("keys") or []],
                    member_keys=[str(q) for q in sc.get("member_keys") or []],
                )
                scored = household_frequencies(frame, scenario, "_fk")
                counts = _below(scored.filter(F.col("_fk").isNotNull()), "_fk", k, household=True)
                summary = _dict(_dict(sc.get("below_k")).get("after"))
                rows.append({**base, "table": "", **counts, "scra_below_k": summary.get(str(k))})
            elif unit == "row":
                figures = _dict(sc.get("tables_below_k"))
                for table, columns in _dict(sc.get("tables")).items():
                    if table not in release.tables:
                        continue  # left out of a corrected re-release
                    columns = [str(c) for c in columns]
                    released = release.tables[table].select("population", *columns)
                    scored = frequencies(released, columns, by=("population",))
                    after = _dict(_dict(figures.get(table)).get("after"))
                    rows.append(
                        {
                            **base,
                            "table": table,
                            **_below(scored, "fk", k),
                            "scra_below_k": after.get(str(k)),
                        }
                    )
    finally:
        if frame is not None:
            frame.unpersist()
    return pd.DataFrame(rows, columns=RECHECK_COLUMNS)


def _below(scored: DataFrame, fk: str, k: int, household: bool = False) -> dict[str, int]:
    """``units`` and the units with ``fk`` below k and below 2, 3, 5 (households once)."""
    if household:
        unit = F.concat_ws(":", F.col("population").cast("string"), F.col("household_id"))
        count = lambda cond: F.count_distinct(F.when(cond, unit))  # noqa: E731
        total = F.count_distinct(unit)
    else:
        count = lambda cond: F.sum(F.when(cond, 1).otherwise(0))  # noqa: E731
        total = F.count(F.lit(1))
    aggs = [total.alias("units"), count(F.col(fk) < k).alias("below_k")]
    aggs += [count(F.col(fk) < t).alias(f"below_{t}") for t in SHOWN_K]
    row = scored.agg(*aggs).first()
    return {name: int(v or 0) for name, v in (row.asDict() if row else {}).items()}
