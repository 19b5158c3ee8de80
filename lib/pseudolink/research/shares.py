"""Shares computed from an output-checked two-way table, from its published cells only.

A share of a suppressed cell would give the cell back (share x row total), so a share is
computed only from published figures: the listed outcome cells over the row total, or, when
one of those is suppressed, the row total minus the other outcome cells (all published);
otherwise it is empty.
"""

from __future__ import annotations

import pandas as pd

from pseudolink.outputcheck import CheckedTable


def outcome_shares(checked: CheckedTable, shares: dict[str, list[str]]) -> pd.DataFrame:
    """Per layer and row category (margin included) of a two-way checked table whose
    columns are outcomes: the published row total (``persons``) and, for each entry of
    ``shares``, the share of the row in the listed outcome columns (see the module)."""
    row, col = checked.by
    label = checked.rules.margin_label
    safe = checked.safe()
    keys = [*checked.layers, row]
    wide = safe.pivot(index=keys, columns=col, values="count")
    totals = wide[label].astype("Float64")
    out = pd.DataFrame({"persons": totals.astype("Int64")})
    usable = totals.notna() & (totals > 0)
    outcomes = [c for c in wide.columns if c != label]
    for name, columns in shares.items():
        listed = wide[[c for c in columns if c in wide.columns]].astype("Float64")
        others = wide[[c for c in outcomes if c not in columns]].astype("Float64")
        direct = (listed.sum(axis=1) / totals).where(listed.notna().all(axis=1) & usable)
        rest = ((totals - others.sum(axis=1)) / totals).where(others.notna().all(axis=1) & usable)
        out[name] = direct.fillna(rest).round(4)
    return out.reset_index()


def row_shares(wide: pd.DataFrame, label: str = "Total") -> pd.DataFrame:
    """Each published cell of a two-way table (:meth:`CheckedTable.wide`) over its published
    row total, without the margin column; empty where either is suppressed."""
    totals = wide[label].astype("Float64")
    inner = wide.drop(columns=label).astype("Float64")
    return inner.div(totals.where(totals > 0), axis=0).round(4)
