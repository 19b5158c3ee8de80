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

Categories are strings; a missing value is the category ``(missing)``. With ``complete``,
every combination of the categories seen is a cell, an absent one a zero cell.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.outputcheck.rules import top_columns

MISSING_LABEL = "(missing)"


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
    complete: bool = True,
) -> DataFrame:
    """One row per cell and margin of the table of ``df`` (microdata) by ``by`` within
    ``layers``: the layer and by categories, ``count`` and, with ``value``, ``total`` and
    ``top1``..``topN``. Everything is a groupBy or a window on the cluster."""
    layers = list(layers or [])
    dims = [*layers, *by]
    extra = []
    if contributor:
        extra.append(F.col(contributor).alias("_c"))
    if value:
        extra.append(F.col(value).cast("double").alias("_v"))
    base = df.select(*categories(df, dims), *extra)
    stats = stat_columns(value is not None, n_top)
    parts = []
    for kept in grouping_sets(by, margins):
        keys = [*layers, *kept]
        part = _stats(base, keys, value is not None, contributor is not None, n_top)
        labels = [F.col(b) if b in kept else F.lit(margin_label).alias(b) for b in by]
        parts.append(part.select(*[F.col(c) for c in layers], *labels, *stats))
    cells = reduce(DataFrame.unionByName, parts)
    if not complete:
        return cells
    grid = _grid(base, layers, by, margins, margin_label)
    return grid.join(cells, dims, "left").fillna(0, stats).select(*dims, *stats)


def _stats(
    base: DataFrame, keys: list[str], magnitude: bool, by_contributor: bool, n_top: int
) -> DataFrame:
    if not magnitude:
        count = F.count_distinct("_c") if by_contributor else F.count(F.lit(1))
        return base.groupBy(*keys).agg(count.cast("long").alias("count"))
    per = base.groupBy(*keys, "_c").agg(F.sum("_v").alias("_v")) if by_contributor else base
    # One partition per cell; a table without layers has one cell for its grand total.
    window = Window.partitionBy(*(keys or [F.lit(0)])).orderBy(F.col("_v").desc_nulls_last())
    ranked = per.withColumn("_rank", F.row_number().over(window))
    tops = [
        F.coalesce(F.sum(F.when(F.col("_rank") == i, F.col("_v"))), F.lit(0.0)).alias(f"top{i}")
        for i in range(1, n_top + 1)
    ]
    return ranked.groupBy(*keys).agg(
        F.count(F.lit(1)).cast("long").alias("count"),
        F.coalesce(F.sum("_v"), F.lit(0.0)).alias("total"),
        *tops,
    )


def _grid(
    base: DataFrame, layers: list[str], by: list[str], margins: bool, label: str
) -> DataFrame:
    """Every combination of the layers seen and of the by categories (and margin label)."""
    spark = base.sparkSession
    grid = base.select(*layers).distinct() if layers else None
    for b in by:
        values = base.select(b).distinct()
        if margins:
            schema = T.StructType([T.StructField(b, T.StringType())])
            values = values.unionByName(spark.createDataFrame([(label,)], schema))
        grid = values if grid is None else grid.crossJoin(values)
    assert grid is not None
    return grid


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
    ``tops`` columns, largest first; missing ones are 0)."""
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
        cells = _completed(cells, layers, by, stat_columns(magnitude, n_top))
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


def _completed(
    cells: pd.DataFrame, layers: list[str], by: list[str], stats: list[str]
) -> pd.DataFrame:
    combos = cells[layers].drop_duplicates() if layers else pd.DataFrame(index=[0])
    grid = combos
    for b in by:
        grid = grid.merge(pd.DataFrame({b: cells[b].drop_duplicates()}), how="cross")
    out = grid.merge(cells, on=[*layers, *by], how="left")
    out[stats] = out[stats].fillna(0)
    out["count"] = out["count"].astype("int64")
    return out[[*layers, *by, *stats]]


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
