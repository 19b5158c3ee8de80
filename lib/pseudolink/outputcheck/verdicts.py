"""Per-cell verdicts (pass, review, fail) and the reasons in words, for Spark and pandas.

Both functions evaluate the rules of :func:`pseudolink.outputcheck.rules.rules_for` through
a backend; neither has a rule of its own. A cell fails when it breaks a rule whose outcome is
fail, is for review when it breaks only review rules, and passes otherwise. The reasons of
every rule it breaks are joined with '; ' (``PASS_WORDS`` when none is), and ``rules``
lists the names of the rules broken.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.outputcheck.rules import PASS_WORDS, OutputRules, active_rules

VERDICT_COLUMNS = ("verdict", "reason", "rules")


class SparkOps:
    """The rules' backend for Spark DataFrames."""

    def col(self, name: str) -> Column:
        return F.col(name)

    def lit(self, value: float) -> Column:
        return F.lit(float(value))

    def div(self, a: Column, b: Column) -> Column:
        return F.try_divide(a, b)


class PandasOps:
    """The rules' backend for pandas tables (one row per cell)."""

    def __init__(self, cells: pd.DataFrame) -> None:
        self.cells = cells

    def col(self, name: str) -> pd.Series:
        return self.cells[name].astype(float)

    def lit(self, value: float) -> pd.Series:
        return pd.Series(float(value), index=self.cells.index)

    def div(self, a: pd.Series, b: pd.Series) -> pd.Series:
        return a.where(b != 0) / b.where(b != 0)


def with_verdicts(cells: DataFrame, rules: OutputRules) -> DataFrame:
    """Add ``verdict``, ``reason`` and ``rules`` (array of rule names) to a Spark table of
    cells (columns ``count`` and, for a magnitude table, ``total`` and ``top1``..)."""
    o = SparkOps()
    checked = active_rules(rules, cells.columns)
    broken = {r.name: F.coalesce(r.test(o), F.lit(False)) for r in checked}

    def any_of(outcome: str) -> Column:
        hits = [broken[r.name] for r in checked if r.outcome == outcome]
        return reduce(lambda a, b: a | b, hits, F.lit(False))

    verdict = (
        F.when(any_of("fail"), F.lit("fail"))
        .when(any_of("review"), F.lit("review"))
        .otherwise(F.lit("pass"))
    )
    words = [
        F.when(broken[r.name], F.format_string(r.words, *[a(o).cast("double") for a in r.args]))
        for r in checked
    ]
    reason = F.coalesce(F.nullif(F.concat_ws("; ", *words), F.lit("")), F.lit(PASS_WORDS))
    names = F.array_compact(F.array(*[F.when(broken[r.name], F.lit(r.name)) for r in checked]))
    return cells.select("*", verdict.alias("verdict"), reason.alias("reason"), names.alias("rules"))


def pandas_verdicts(cells: pd.DataFrame, rules: OutputRules) -> pd.DataFrame:
    """The same as :func:`with_verdicts`, for a pandas table of cells (a copy is returned;
    ``rules`` holds lists of rule names)."""
    o = PandasOps(cells)
    size = len(cells)
    fail = np.zeros(size, dtype=bool)
    review = np.zeros(size, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(size)]
    names: list[list[str]] = [[] for _ in range(size)]
    for r in active_rules(rules, list(cells.columns)):
        hit = _bools(r.test(o), size)
        args = [_floats(a(o), size) for a in r.args]
        for i in np.flatnonzero(hit):
            reasons[i].append(r.words % tuple(a[i] for a in args))
            names[i].append(r.name)
        if r.outcome == "fail":
            fail |= hit
        else:
            review |= hit
    out = cells.copy()
    out["verdict"] = np.where(fail, "fail", np.where(review, "review", "pass"))
    out["reason"] = ["; ".join(x) if x else PASS_WORDS for x in reasons]
    out["rules"] = names
    return out


def _bools(value: Any, size: int) -> np.ndarray:
    return pd.Series(value).fillna(False).astype(bool).to_numpy().reshape(size)


def _floats(value: Any, size: int) -> np.ndarray:
    return np.broadcast_to(pd.Series(value).astype(float).to_numpy(), (size,))
