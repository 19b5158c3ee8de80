"""Tables of cells, with margins: from microdata (Spark) or from an aggregated table (pandas).

A cell is one combination of the ``layers`` and ``by`` columns (a table has one or two
``by`` columns; each combination of the layer columns is a table of its own). Its figures:

- ``count``: its contributors (the distinct values of ``contributor``, else its rows);
- ``total``: the sum of ``value`` (a magnitude table; a frequency table has none);
- ``top1``..``topN``: the N largest contributions, a contributor's contribution being the
  sum of its values in the cell (0 when the cell has fewer than N contributors).

Margins: for a one-way table the total of each layer, for a two-way table the row totals,
the column totals and the grand total, labelled with the margin label. From microdata they
are exact (a contributor in several cells of a row is one contributor of the row total, with
its contributions summed). Those of an aggregated table add the counts and totals and take
the largest contributions among the cells' own, which is exact when every contributor is in
one cell only.

Categories are strings; a missing value is the category ``(missing)``. Every combination
of the categories seen can be made a cell (:func:`complete_cells`), an absent one a zero
cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from pseudolink.outputcheck.rules import top_columns

MISSING_LABEL = "(missing)"
BUCKETS = 64  # first step of the largest contributions: top N per bucket of contributors


def grouping_sets(by: list[str], margins: bool) -> list[list[str]]:
    """The ``by`` columns kept by each level: the cells first, then the margins."""
    if len(by) == 1:
        return [list(by)] + ([[]] if margins else [])
    row, col = by
    return [[row, col]] + ([[row], [col], []] if margins else [])


def stat_columns(magnitude: bool, n_top: int) -> list[str]:
    return ["count", "total", *top_columns(n_top)] if magnitude else ["count"]


def categories(df: DataFrame, columns: list[str]) -> list[Column]:
    """The columns as string categories, missing values as ``(missing)``."""
    return [F.coalesce(F.col(c).cast("string"), F.lit(MISSING_LABEL)).alias(c) for c in columns]


def cell_stats(
    df: DataFrame,
    by: list[str],
    *,
    value: str | None = None,
    contributor: str | None = None,
    layers: list[str] | None = None,
    n_top: int = 2,
    margins: bool = True,
    margin_label: str = "Total",
) -> DataFrame:
    """One row per cell and margin of the table of ``df`` (microdata) by ``by`` within
    ``layers``: the layer and by categories, ``count`` and, with ``value``, ``total`` and
    ``top1``..``topN``. Cells and margins come from one aggregation over grouping sets (a
    margin's by columns come out empty and get the margin label; a category is never
    empty, a missing value being ``(missing)``). Combinations that do not occur are no
    rows here (:func:`complete_cells` adds them)."""
    layers = list(layers or [])
    dims = [*layers, *by]
    sets = [[*layers, *kept] for kept in grouping_sets(by, margins)]
    labelled = [*layers, *[F.coalesce(F.col(b), F.lit(margin_label)).alias(b) for b in by]]
    extra = []
    if contributor:
        extra.append(F.col(contributor).alias("_c"))
    elif value:
        extra.append(F.monotonically_increasing_id().alias("_c"))  # every row contributes
    if value:
        extra.append(F.col(value).cast("double").alias("_v"))
    base = df.select(*categories(df, dims), *extra)
    if not value:
        count = F.count_distinct("_c") if contributor else F.count(F.lit(1))
        cells = base.groupingSets(sets, *dims).agg(count.cast("long").alias("count"))
        return cells.select(*labelled, "count")
    # Each contributor's sum in each cell and margin, then each cell's figures.
    per = base.groupingSets([[*s, "_c"] for s in sets], *dims, "_c").agg(F.sum("_v").alias("_v"))
    per = per.select(*labelled, "_c", "_v")
    sums = per.groupBy(*dims).agg(
        F.count(F.lit(1)).cast("long").alias("count"),
        F.coalesce(F.sum("_v"), F.lit(0.0)).alias("total"),
    )
    return sums.join(_largest(per, dims, n_top), dims, "left").select(
        *dims, *stat_columns(True, n_top)
    )


def _largest(per: DataFrame, keys: list[str], n_top: int) -> DataFrame:
    """``top1``..``topN`` per cell in two steps that scale with big cells (a grand total
    too): the N largest of each of BUCKETS hash buckets of the contributors (a window per
    cell and bucket), then the N largest of those candidates (one small list per cell)."""
    bucketed = per.withColumn("_b", F.pmod(F.xxhash64("_c"), F.lit(BUCKETS)))
    window = Window.partitionBy(*keys, "_b").orderBy(F.col("_v").desc_nulls_last())
    candidates = bucketed.withColumn("_rank", F.row_number().over(window)).filter(
        F.col("_rank") <= n_top
    )
    ordered = F.sort_array(F.collect_list("_v"), asc=False)
    tops = [
        F.coalesce(F.get(F.col("_sorted"), i - 1), F.lit(0.0)).alias(f"top{i}")
        for i in range(1, n_top + 1)
    ]
    return candidates.groupBy(*keys).agg(ordered.alias("_sorted")).select(*keys, *tops)


def table_cells(
    table: pd.DataFrame,
    by: list[str],
    *,
    count: str = "count",
    total: str | None = None,
    tops: list[str] | None = None,
    layers: list[str] | None = None,
    n_top: int = 2,
    margins: bool = True,
    margin_label: str = "Total",
    complete: bool = True,
) -> pd.DataFrame:
    """The cells and margins of an aggregated pandas table (one row per cell, columns already
    checked): ``count`` and, with ``total``, ``total`` and ``top1``..``topN`` (from the
    ``tops`` columns, largest first; missing ones are 0). With ``complete``, absent
    combinations are zero cells."""
    layers = list(layers or [])
    dims = [*layers, *by]
    magnitude = total is not None
    cells = pd.DataFrame({c: as_labels(table[c]) for c in dims})
    cells["count"] = table[count].to_numpy(dtype=float).round().astype("int64")
    if magnitude:
        cells["total"] = table[total].to_numpy(dtype=float)
        given = np.zeros((len(table), n_top))
        for i, c in enumerate((tops or [])[:n_top]):
            given[:, i] = pd.to_numeric(table[c]).fillna(0).to_numpy(dtype=float)
        given = -np.sort(-given, axis=1)
        for i, c in enumerate(top_columns(n_top)):
            cells[c] = given[:, i]
    if complete:
        cells = complete_cells(cells, layers, by, stat_columns(magnitude, n_top))
    parts = [cells]
    for kept in grouping_sets(by, margins)[1:]:
        parts.append(_margin(cells, layers, by, kept, magnitude, n_top, margin_label))
    return pd.concat(parts, ignore_index=True)


def as_labels(values: pd.Series) -> pd.Series:
    """Category labels as strings: whole floats without '.0', missing as ``(missing)``."""
    if pd.api.types.is_float_dtype(values) and values.dropna().apply(float.is_integer).all():
        values = values.astype("Int64")
    out = values.astype("string").fillna(MISSING_LABEL)
    return out.astype(object)


def complete_cells(
    cells: pd.DataFrame, layers: list[str], by: list[str], stats: list[str]
) -> pd.DataFrame:
    """Every combination of the layers and categories seen (margin labels included) as a
    cell: the absent ones with zero figures (other columns empty)."""
    combos = cells[layers].drop_duplicates() if layers else pd.DataFrame(index=[0])
    grid = combos
    for b in by:
        grid = grid.merge(pd.DataFrame({b: cells[b].drop_duplicates()}), how="cross")
    out = grid.merge(cells, on=[*layers, *by], how="left")
    out[stats] = out[stats].fillna(0)
    out["count"] = out["count"].astype("int64")
    return out[list(cells.columns)]


def _margin(
    cells: pd.DataFrame,
    layers: list[str],
    by: list[str],
    kept: list[str],
    magnitude: bool,
    n_top: int,
    label: str,
) -> pd.DataFrame:
    keys = [*layers, *kept]
    tops = top_columns(n_top)
    groups = cells.groupby(keys, sort=False) if keys else [((), cells)]
    rows = []
    for key, group in groups:
        values = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, values, strict=True))
        row.update({b: label for b in by if b not in kept})
        row["count"] = int(group["count"].sum())
        if magnitude:
            row["total"] = float(group["total"].sum())
            largest = np.sort(group[tops].to_numpy(dtype=float).ravel())[::-1]
            largest = np.concatenate([largest, np.zeros(n_top)])[:n_top]
            row.update({c: float(v) for c, v in zip(tops, largest, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows, columns=[*layers, *by, *stat_columns(magnitude, n_top)])
