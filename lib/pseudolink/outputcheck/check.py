"""check_output: one call from a table (Spark or pandas, microdata or aggregated) to its
per-cell verdicts, its primary and secondary suppressions and the table that may leave.

- **Microdata** (a Spark DataFrame, e.g. a release table; no ``count``): the cells are
  computed on the cluster (:func:`pseudolink.outputcheck.cells.cell_stats`) and checked there
  (:func:`pseudolink.outputcheck.verdicts.with_verdicts`); only the table of cells comes to
  the driver.
- **Aggregated** (pandas, or Spark, one row per cell with a ``count`` column and, for the
  dominance and p-ratio rules, a ``total`` and the largest contributions ``tops``): checked
  with the same rules in pandas (:func:`pseudolink.outputcheck.verdicts.pandas_verdicts`).

Then failing cells are suppressed, and more cells so that the margins do not give them back
(:mod:`pseudolink.outputcheck.suppress`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.errors import InputError
from pseudolink.outputcheck.cells import (
    MISSING_LABEL,
    cell_stats,
    complete_cells,
    stat_columns,
    table_cells,
)
from pseudolink.outputcheck.rules import PASS_WORDS, OutputRules, load_output_rules, top_columns
from pseudolink.outputcheck.source import (
    numeric_pandas,
    numeric_spark,
    require_columns,
)
from pseudolink.outputcheck.suppress import SECONDARY, suppress
from pseudolink.outputcheck.table import CheckedTable
from pseudolink.outputcheck.verdicts import pandas_verdicts, with_verdicts

COMPLEMENT_WORDS = "suppressed as well, so that the margins do not give a failing cell back"
NOT_PROTECTED = (
    "{n} suppressed cell(s) can still be computed exactly from the margins and nothing is "
    "left to suppress: do not publish the margins of this table"
)


def check_output(
    data: DataFrame | pd.DataFrame,
    by: str | list[str],
    *,
    layers: list[str] | None = None,
    value: str | None = None,
    contributor: str | None = None,
    count: str | None = None,
    total: str | None = None,
    tops: list[str] | None = None,
    margins: bool = True,
    complete: bool = True,
    rules: OutputRules | None = None,
    where: str = "the table",
) -> CheckedTable:
    """Check a table cell by cell and suppress what may not leave.

    ``by``: the table's one or two classifying columns; ``layers``: columns each combination
    of which is a table of its own. Microdata (no ``count``, Spark only): ``value`` makes it a
    magnitude table (sum of value), ``contributor`` the unit counted and whose values are
    summed. Aggregated (``count``): ``total`` and ``tops`` (largest contributions) make it a
    magnitude table. ``where`` names the table in error messages."""
    rules = rules or load_output_rules()
    by = [by] if isinstance(by, str) else list(by)
    layers = list(layers or [])
    if len(by) not in (1, 2):
        raise InputError(f"{where}: a table has one or two 'by' columns (more go to layers)")
    dims = [*layers, *by]
    if len(set(dims)) != len(dims):
        raise InputError(f"{where}: a column is named twice among the by and layer columns")
    notes: list[str] = []
    if count is None:
        if not isinstance(data, DataFrame):
            raise InputError(
                f"{where}: a pandas table needs its count column (count=...); microdata "
                "are checked as Spark DataFrames"
            )
        cells = _microdata_cells(
            data, by, layers, value, contributor, margins, complete, rules, where
        )
    else:
        cells = _aggregated_cells(
            data, by, layers, count, total, tops, margins, complete, rules, where
        )
        if total is None:
            notes.append("A table of counts: dominance and p-ratio do not apply to it.")
    magnitude = "total" in cells.columns
    cells = _sorted(cells, dims, rules.margin_label).reset_index(drop=True)
    label = rules.margin_label
    on = rules.secondary_suppression and margins
    cells["suppression"], stuck = suppress(cells, by, layers, label, on)
    complement = cells["suppression"] == SECONDARY
    cells.loc[complement, "reason"] = cells.loc[complement, "reason"].map(
        lambda r: COMPLEMENT_WORDS if r == PASS_WORDS else f"{r}; {COMPLEMENT_WORDS}"
    )
    if stuck:
        notes.append(NOT_PROTECTED.format(n=len(stuck)))
    return CheckedTable(cells, by, layers, magnitude, rules, notes)


def _microdata_cells(
    df: DataFrame,
    by: list[str],
    layers: list[str],
    value: str | None,
    contributor: str | None,
    margins: bool,
    complete: bool,
    rules: OutputRules,
    where: str,
) -> pd.DataFrame:
    wanted = [*layers, *by, *[c for c in (value, contributor) if c]]
    require_columns(df.columns, wanted, where)
    if value:
        df = numeric_spark(df, value, where)
    _no_margin_label(df, by, rules.margin_label, where)
    cells = cell_stats(
        df,
        by,
        value=value,
        contributor=contributor,
        layers=layers,
        n_top=rules.n_top,
        margins=margins,
        margin_label=rules.margin_label,
    )
    checked = with_verdicts(cells, rules).limit(rules.max_cells + 1).toPandas()
    _not_too_big(len(checked), rules, where)
    if not complete:
        return checked
    # Combinations that do not occur are zero cells, checked with the same rules.
    stats = stat_columns(value is not None, rules.n_top)
    full = complete_cells(checked, layers, by, stats)
    absent = full["verdict"].isna()
    if absent.any():
        zeros = pandas_verdicts(full.loc[absent, [*layers, *by, *stats]], rules)
        full.loc[absent, ["verdict", "reason", "rules"]] = zeros[["verdict", "reason", "rules"]]
    _not_too_big(len(full), rules, where)
    return full


def _aggregated_cells(
    data: DataFrame | pd.DataFrame,
    by: list[str],
    layers: list[str],
    count: str,
    total: str | None,
    tops: list[str] | None,
    margins: bool,
    complete: bool,
    rules: OutputRules,
    where: str,
) -> pd.DataFrame:
    tops = list(tops or [])
    if total is not None and len(tops) < rules.n_top:
        raise InputError(
            f"{where}: a table of totals needs its {rules.n_top} largest contributions per "
            f"cell (tops: {', '.join(top_columns(rules.n_top))}) for the dominance and "
            "p-ratio rules"
        )
    numbers = [c for c in (total, *tops) if c]
    wanted = [*layers, *by, count, *numbers]
    columns = list(data.columns)
    require_columns(columns, wanted, where)
    if isinstance(data, DataFrame):
        df = numeric_spark(data, count, where, whole=True)
        for c in numbers:
            df = numeric_spark(df, c, where)
        table = df.select(*wanted).limit(rules.max_cells + 1).toPandas()
    else:
        table = data[wanted].copy()
        table[count] = numeric_pandas(table, count, where, whole=True)
        for c in numbers:
            table[c] = numeric_pandas(table, c, where)
    _not_too_big(len(table), rules, where)
    _no_margin_label_pandas(table, by, rules.margin_label, where)
    if table.duplicated([*layers, *by]).any():
        raise InputError(f"{where}: two rows for the same cell of {', '.join([*layers, *by])}")
    cells = table_cells(
        table,
        by,
        count=count,
        total=total,
        tops=tops,
        layers=layers,
        n_top=rules.n_top,
        margins=margins,
        margin_label=rules.margin_label,
        complete=complete,
    )
    return pandas_verdicts(cells, rules)


def _no_margin_label(df: DataFrame, by: list[str], label: str, where: str) -> None:
    found = df.select(
        *[F.max(F.col(b).cast("string") == F.lit(label)).alias(b) for b in by]
    ).first()
    for b in by:
        if found is not None and found[b]:
            raise InputError(
                f"{where}: column '{b}' has a category '{label}', the margin label "
                "(change margin_label in conf/output_check.yaml)"
            )


def _no_margin_label_pandas(table: pd.DataFrame, by: list[str], label: str, where: str) -> None:
    for b in by:
        if (table[b].astype(str) == label).any():
            raise InputError(
                f"{where}: column '{b}' has a category '{label}', the margin label "
                "(remove the margins from the table, or change margin_label in "
                "conf/output_check.yaml)"
            )


def _not_too_big(cells: int, rules: OutputRules, where: str) -> None:
    if cells > rules.max_cells:
        raise InputError(
            f"{where}: more than {rules.max_cells} cells: not an aggregated table to publish "
            "(max_cells in conf/output_check.yaml)"
        )


def _sorted(cells: pd.DataFrame, dims: list[str], label: str) -> pd.DataFrame:
    """Layers and categories in order, the missing category then the margin last."""

    def key(values: pd.Series) -> pd.Series:
        rank = values.map({MISSING_LABEL: 1, label: 2}).fillna(0)
        return rank.astype(int).astype(str) + values.map(_natural)

    return cells.sort_values(dims, key=key, kind="stable") if dims else cells


def _natural(value: Any) -> str:
    """Sort key: numbers by value (zero-padded), text as it is."""
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return "~" + text
    return f"{number:030.6f}"
