"""The hierarchies of conf/release.yaml: the Spark expression, the Python label and the
dictionary's labels agree at every level (lib/pseudolink/release/hierarchy.py)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql import functions as F

from pseudolink.release.hierarchy import (
    OPEN_ELLIPSIS,
    classed,
    classes,
    describe,
    label_of,
)
from pseudolink.release.hierarchy import class_labels as labels_of_classes
from pseudolink.release.rules import Hierarchy, Level, load_rules
from pseudolink.schemas import load_codelist

CONF = Path(__file__).resolve().parents[1] / "conf"
PERIODS = {"month": r"\d{4}-(0[1-9]|1[0-2])", "quarter": r"\d{4}Q[1-4]"}


def shipped_hierarchies() -> dict[str, Hierarchy]:
    """The hierarchies of conf/release.yaml, through the loader; straight from the YAML when
    the rest of the file does not load (the hierarchies are what is tested here)."""
    try:
        return dict(load_rules(CONF).hierarchies)
    except Exception:  # noqa: BLE001 - a rules change in progress elsewhere in the file
        raw = yaml.safe_load((CONF / "release.yaml").read_text())["hierarchies"]
        return {
            name: Hierarchy(
                type=h["type"],
                codelist=h.get("codelist"),
                levels=[Level(**lv) for lv in h.get("levels", [])],
            )
            for name, h in raw.items()
        }


HIERARCHIES = shipped_hierarchies()
# Beyond the shipped ones: an open bands level (no top) and non-integer breaks.
EXTRA = {
    "open_bands": Hierarchy(
        "bands", levels=[Level(width=5, lowest=-10), Level(width=10, lowest=-10)]
    ),
    "single_years": Hierarchy("bands", levels=[Level(width=1, lowest=0)]),
    "fine_breaks": Hierarchy("breaks", levels=[Level(breaks=[-1.5, 0, 0.25, 2.75])]),
}
ALL = {**HIERARCHIES, **EXTRA}


def levels(h: Hierarchy) -> list[int]:
    return list(range(len(h.levels))) if h.levels else [0]


def samples(h: Hierarchy) -> list[tuple[str, list[Any]]]:
    """(Spark type, values) to class: nulls, values below the lowest class, at and around
    every class bound, at and above the top."""
    if h.type in PERIODS:
        days = [dt.date(2019, 3, 7), dt.date(1900, 1, 1), dt.date(1, 1, 1), dt.date(9999, 12, 31)]
        days += [dt.date(2020, m, d) for m in range(1, 13) for d in (1, 28)]
        days += [dt.date(2024, 2, 29), dt.date(2023, 12, 31), dt.date(2016, 1, 1)]
        return [("date", [None, *days])]
    if h.type == "codes":
        codes = list(load_codelist(CONF, h.codelist or ""))
        return [("string", [None, *codes, "", "unknown", codes[0] + " "])]
    bounds = sorted(
        {b for lv in levels(h) for c in classes(h, lv) for b in (c.lower, c.upper)} - {None}
    )
    lo, hi = bounds[0], bounds[-1]
    if h.type == "bands":
        ints = sorted({b + d for b in bounds for d in (-1, 0, 1)} | {lo - 100, hi + 1000, hi + 7})
        halves = [x + 0.5 for x in ints] + [lo - 0.5, float(hi), float("-inf")]
        return [("int", [None, *ints]), ("double", [None, *halves])]
    cents = [Decimal(str(b)) + d for b in bounds for d in (Decimal("-0.01"), 0, Decimal("0.01"))]
    cents += [Decimal(str(lo)) - 10_000, Decimal(str(hi)) * 100]
    doubles = [float(b) + d for b in bounds for d in (-1e-9, 0.0, 1e-9)]
    doubles += [float("nan"), float("inf"), float("-inf"), -0.0]
    return [("decimal(14,2)", [None, *cents]), ("double", [None, *doubles])]


def spark_labels(spark, h: Hierarchy, dtype: str, values: list[Any]) -> list[list[Any]]:
    """The labels of ``values`` at every level of ``h``, by the Spark expression (one job)."""
    df = spark.createDataFrame(list(enumerate(values)), f"i int, v {dtype}")
    out = df.select(
        "i", *[classed(F.col("v"), h, lv, CONF).alias(f"l{lv}") for lv in levels(h)]
    ).orderBy("i")
    return [[row[f"l{lv}"] for lv in levels(h)] for row in out.collect()]


def listed(h: Hierarchy, level: int) -> set[str] | str:
    """The classes of ``h`` at ``level`` as the data dictionary lists them (an open bands
    level: also the classes past its ellipsis, by the same rule), or the pattern of a period."""
    if h.type in PERIODS:
        return PERIODS[h.type]
    labels = labels_of_classes(h, level, CONF)
    if labels[-1] == OPEN_ELLIPSIS:
        labels += [c.label for c in classes(h, level, shown=5000)]
    return set(labels)


def is_listed(label: str, allowed: set[str] | str) -> bool:
    if isinstance(allowed, str):
        return re.fullmatch(allowed, label) is not None
    return label in allowed


@pytest.mark.parametrize("name", list(ALL))
def test_spark_expression_equals_label_of(spark, name):
    h = ALL[name]
    allowed = {lv: listed(h, lv) for lv in levels(h)}
    for dtype, values in samples(h):
        got = spark_labels(spark, h, dtype, values)
        for value, labels in zip(values, got, strict=True):
            for lv, label in zip(levels(h), labels, strict=True):
                assert label == label_of(h, lv, value, CONF), (name, lv, dtype, value)
                if value is None:
                    assert label is None
                elif label is not None:
                    assert is_listed(label, allowed[lv]), (name, lv, value, label)


@pytest.mark.parametrize("name", list(ALL))
def test_a_coarser_level_merges_whole_classes(name):
    h = ALL[name]
    for _, values in samples(h):
        labels = [[label_of(h, lv, v, CONF) for lv in levels(h)] for v in values]
        for finer in range(len(levels(h)) - 1):
            merged: dict[Any, Any] = {}
            for row in labels:
                assert merged.setdefault(row[finer], row[finer + 1]) == row[finer + 1], (
                    name,
                    finer,
                    row,
                )


@pytest.mark.parametrize("name", [n for n, h in ALL.items() if h.type in ("bands", "breaks")])
def test_classes_are_contiguous_and_labelled_once(name):
    h = ALL[name]
    for lv in levels(h):
        cs = classes(h, lv)
        assert cs[0].lower is None
        assert all(a.upper == b.lower for a, b in zip(cs, cs[1:], strict=False))
        labels = labels_of_classes(h, lv, CONF)
        assert len(labels) == len(set(labels))
        assert [c.label for c in cs] == [x for x in labels if x != OPEN_ELLIPSIS]
        assert (labels[-1] == OPEN_ELLIPSIS) == (cs[-1].upper is not None)


# What tests/test_scra.py::test_classes_of_every_hierarchy_type checked (before coarsen.py went).
def one_value(spark, value, dtype, h, level):
    df = spark.createDataFrame([(value,)], f"v {dtype}")
    spark_label = df.select(classed(F.col("v"), h, level, CONF).alias("c")).first()["c"]
    assert spark_label == label_of(h, level, value, CONF)
    return spark_label


def test_classes_of_every_hierarchy_type(spark):
    age = HIERARCHIES["age"]
    assert [one_value(spark, v, "int", age, 0) for v in (14, 15, 19, 37, 79, 80, 99)] == [
        "<15",
        "15-19",
        "15-19",
        "35-39",
        "75-79",
        "80+",
        "80+",
    ]
    assert one_value(spark, 79, "int", age, 1) == "75+"
    assert one_value(spark, None, "int", age, 0) is None
    amount = HIERARCHIES["amount"]
    got = [
        one_value(spark, Decimal(v), "decimal(14,2)", amount, 0)
        for v in ("-5", "0", "0.5", "2500", "80000")
    ]
    assert got == ["<0", "[0,1)", "[0,1)", "[2500,5000)", "75000+"]
    residence = HIERARCHIES["residence"]
    assert one_value(spark, "11001", "string", residence, 1) == "11"
    assert one_value(spark, "11001", "string", residence, 2) == "ANT"
    assert one_value(spark, "11001", "string", residence, 3) == "FL"
    month = HIERARCHIES["month"]
    assert one_value(spark, dt.date(2019, 3, 7), "date", month, 0) == "2019-03"
    quarter = HIERARCHIES["quarter"]
    assert one_value(spark, dt.date(2019, 3, 31), "date", quarter, 0) == "2019Q1"
    assert one_value(spark, dt.date(2019, 4, 1), "date", quarter, 0) == "2019Q2"


def test_label_of_without_spark():
    age = HIERARCHIES["age"]
    assert label_of(age, 0, "37", CONF) == "35-39"
    assert label_of(age, 0, Decimal("79.99"), CONF) == "75-79"
    assert label_of(age, 2, 74, CONF) == "55-74"
    assert label_of(HIERARCHIES["household_size"], 0, 1, CONF) == "1"
    assert label_of(HIERARCHIES["rooms"], 0, 0.75, CONF) == "[0.5,1)"
    assert label_of(HIERARCHIES["amount"], 0, float("nan"), CONF) == "75000+"
    assert label_of(HIERARCHIES["nationality"], 0, "BE", CONF) == "BE"
    assert label_of(HIERARCHIES["residence"], 0, "99999", CONF) is None
    month, quarter = HIERARCHIES["month"], HIERARCHIES["quarter"]
    assert label_of(month, 0, dt.datetime(2019, 12, 31, 23, 59), CONF) == "2019-12"
    assert label_of(month, 0, "2019-03-07", CONF) == "2019-03"
    assert label_of(quarter, 0, dt.date(2019, 12, 31), CONF) == "2019Q4"
    assert label_of(EXTRA["open_bands"], 0, 1234, CONF) == "1230-1234"
    assert label_of(EXTRA["open_bands"], 1, -11, CONF) == "<-10"


def test_class_labels():
    assert labels_of_classes(HIERARCHIES["small_count"], 0, CONF) == ["<0", "0", "1", "2", "3+"]
    assert labels_of_classes(EXTRA["fine_breaks"], 0, CONF) == [
        "<-1.5", "[-1.5,0)", "[0,0.25)", "[0.25,2.75)", "2.75+"
    ]  # fmt: skip
    open_labels = labels_of_classes(EXTRA["open_bands"], 0, CONF)
    assert open_labels[:3] == ["<-10", "-10--6", "-5--1"] and open_labels[-1] == "..."
    assert len(open_labels) == 12
    assert labels_of_classes(HIERARCHIES["month"], 0, CONF) == ["YYYY-MM"]
    assert labels_of_classes(HIERARCHIES["quarter"], 0, CONF) == ["YYYYQn"]
    assert labels_of_classes(HIERARCHIES["residence"], 3, CONF)[0] == "FL"


def test_describe():
    age = HIERARCHIES["age"]
    assert describe(age, 0) == "classes of 5 (top 80+)"
    assert describe(age, 0, unit="year") == "5-year classes (top 80+)"
    assert describe(EXTRA["open_bands"], 0, unit="year") == "5-year classes"
    assert describe(EXTRA["open_bands"], 1) == "classes of 10"
    assert describe(HIERARCHIES["amount"], 0) == "14 amount classes"
    assert describe(HIERARCHIES["amount"], 0, unit="year") == "14 amount classes"
    residence = HIERARCHIES["residence"]
    assert [describe(residence, lv) for lv in levels(residence)] == [
        "the code itself", "district", "province", "region"
    ]  # fmt: skip
    assert describe(HIERARCHIES["nationality"], 0) == "group"
    assert describe(HIERARCHIES["month"], 0) == "month (YYYY-MM)"
    assert describe(HIERARCHIES["quarter"], 0) == "quarter (YYYYQn)"
