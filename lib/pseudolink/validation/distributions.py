"""Distributions per year, each compared with the year before, with jumps flagged.

A jump is a category whose share of the year's rows moves by at least ``share_jump``
(absolute, 0.05 = 5 percentage points), or a year whose row count changes by at least
``volume_jump`` (relative, 0.2 = 20 %) against the year before: a sign of a delivery
problem (a code list changed, a block of rows missing) rather than of society.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

MISSING = "(missing)"


def yearly_counts(df: DataFrame, category: str | Column, period: str = "period") -> DataFrame:
    """Rows per year (the first four characters of ``period``) and category (missing values
    as ``(missing)``)."""
    value = F.col(category) if isinstance(category, str) else category
    return (
        df.groupBy(
            F.substring(F.col(period).cast("string"), 1, 4).cast("int").alias("year"),
            F.coalesce(value.cast("string"), F.lit(MISSING)).alias("category"),
        )
        .agg(F.count(F.lit(1)).alias("rows"))
        .orderBy("year", "category")
    )


def year_on_year(
    counts: pd.DataFrame, share_jump: float = 0.05, volume_jump: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From :func:`yearly_counts` (as pandas): the shares per year and category with their
    change against the year before and a ``jump`` flag; and the rows per year with their
    relative change and a ``jump`` flag."""
    rows = counts.pivot_table(index="year", columns="category", values="rows", aggfunc="sum")
    rows = rows.sort_index().fillna(0)
    shares = rows.div(rows.sum(axis=1), axis=0)
    change = shares.diff()
    long = shares.stack().rename("share").to_frame()
    long["change"] = change.stack()
    long["jump"] = long["change"].abs() >= share_jump
    volume = rows.sum(axis=1).rename("rows").to_frame()
    volume["change"] = volume["rows"].pct_change()
    volume["jump"] = volume["change"].abs() >= volume_jump
    return long.reset_index(), volume.reset_index()
