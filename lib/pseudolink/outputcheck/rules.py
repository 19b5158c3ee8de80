"""The output-checking rules: their settings (conf/output_check.yaml) and their one definition.

Each rule is written once, as comparisons and arithmetic on the columns of a table of cells
(``count``, ``total``, ``top1``, ``top2``...). A backend (:class:`Ops`) supplies the columns:
Spark Columns for DataFrames, pandas Series for pandas tables
(:mod:`pseudolink.outputcheck.verdicts`). Both evaluate the same expressions, so the Spark
and the pandas checks cannot drift apart.

The rules (ACRO's defaults, AI-SDC/ACRO acro/default.yaml):

- **min_count** (fail): a cell with at least one but fewer than ``min_count`` contributors;
- **dominance** (fail, magnitude tables): the ``n`` largest contributors make up at least
  ``k`` of the cell's total (NK rule);
- **p_ratio** (fail, magnitude tables): (total - top1 - top2) < p * top1, i.e. the
  contributors after the two largest add up to less than p of the largest;
- **zero** (review by default): an empty cell, which can disclose that nobody in a group
  has an attribute.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from operator import add
from pathlib import Path
from typing import Any, Literal, Protocol

from pseudolink.config import load_yaml, project_conf_dir

RULES_FILE = "output_check.yaml"
PASS_WORDS = "passes every rule"


@dataclass(frozen=True)
class Dominance:
    """NK rule: the ``n`` largest contributors may make up less than ``k`` of a total."""

    n: int = field(default=2, metadata={"min": 1, "max": 10})
    k: float = field(default=0.90, metadata={"min": 0.0, "max": 1.0})


@dataclass(frozen=True)
class OutputRules:
    """The whole of conf/output_check.yaml (the defaults are ACRO's)."""

    min_count: int = field(default=10, metadata={"min": 1})
    dominance: Dominance = field(default_factory=Dominance)
    p_ratio: float = field(default=0.10, metadata={"min": 0.0, "max": 1.0})
    zeros: Literal["review", "fail", "pass"] = "review"
    secondary_suppression: bool = True
    margin_label: str = "Total"
    max_cells: int = field(default=100_000, metadata={"min": 1})

    def config_problem(self) -> str | None:
        if not self.margin_label.strip():
            return "margin_label: expected a non-empty label"
        return None

    @property
    def n_top(self) -> int:
        """How many largest contributions per cell the rules read (top1..topN)."""
        return max(self.dominance.n, 2)


def default_rules_path() -> Path:
    """conf/output_check.yaml of the project (``$PSEUDOLINK_HOME``, else this checkout)."""
    return project_conf_dir() / RULES_FILE


def load_output_rules(path: str | os.PathLike[str] | None = None) -> OutputRules:
    """Read and check the rules file (default: conf/output_check.yaml); errors name the
    file and the key."""
    return load_yaml(Path(path) if path else default_rules_path(), OutputRules)


class Ops(Protocol):
    """What a backend gives the rules: a column of the cells table, a constant as a column,
    and a division that is empty where the divisor is 0."""

    def col(self, name: str) -> Any: ...

    def lit(self, value: float) -> Any: ...

    def div(self, a: Any, b: Any) -> Any: ...


Expr = Callable[[Ops], Any]


@dataclass(frozen=True)
class Rule:
    """One rule: where it is broken (``test``), the verdict then, and the reason in words
    (``words``, printf-style with ``%.Nf`` and ``%%`` only, filled with ``args``; Spark's
    format_string and Python's ``%`` read them alike)."""

    name: str
    outcome: Literal["fail", "review"]
    needs: tuple[str, ...]
    test: Expr
    words: str
    args: tuple[Expr, ...] = ()


def top_columns(n: int) -> list[str]:
    return [f"top{i}" for i in range(1, n + 1)]


def rules_for(r: OutputRules) -> list[Rule]:
    """The rules with the settings of ``r`` (the zero rule only when zeros are not 'pass')."""
    n, k, p, m = r.dominance.n, r.dominance.k, r.p_ratio, r.min_count

    def count(o: Ops) -> Any:
        return o.col("count")

    def total(o: Ops) -> Any:
        return o.col("total")

    def largest(o: Ops) -> Any:
        return reduce(add, [o.col(c) for c in top_columns(n)])

    def rest(o: Ops) -> Any:
        return o.col("total") - o.col("top1") - o.col("top2")

    rules = [
        Rule(
            "min_count",
            "fail",
            ("count",),
            lambda o: (count(o) > 0) & (count(o) < m),
            "%.0f contributor(s), fewer than the minimum of %.0f",
            (count, lambda o: o.lit(m)),
        ),
        Rule(
            "dominance",
            "fail",
            ("total", *top_columns(n)),
            lambda o: (total(o) > 0) & (largest(o) >= total(o) * k),
            "the %.0f largest contributors make up %.1f %% of the cell's total "
            "(%.0f %% or more fails)",
            (
                lambda o: o.lit(n),
                lambda o: o.div(largest(o) * 100, total(o)),
                lambda o: o.lit(k * 100),
            ),
        ),
        Rule(
            "p_ratio",
            "fail",
            ("total", "top1", "top2"),
            lambda o: (o.col("top1") > 0) & (rest(o) < o.col("top1") * p),
            "the contributors after the 2 largest add up to %.1f %% of the largest "
            "(at least %.0f %% needed): the second largest could estimate the largest",
            (lambda o: o.div(rest(o) * 100, o.col("top1")), lambda o: o.lit(p * 100)),
        ),
    ]
    if r.zeros != "pass":
        rules.append(
            Rule(
                "zero",
                r.zeros,
                ("count",),
                lambda o: count(o) == 0,
                "an empty cell: a zero can disclose that nobody in this group has the attribute",
            )
        )
    return rules


def active_rules(r: OutputRules, columns: list[str]) -> list[Rule]:
    """The rules a table with these columns can be checked on (a table of counts only has no
    total and largest contributions: dominance and p-ratio do not apply to it)."""
    return [rule for rule in rules_for(r) if all(c in columns for c in rule.needs)]
