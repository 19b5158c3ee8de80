"""Coarsening: a value becomes the label of its class at a level of its hierarchy.

Every class is a native Spark expression (no UDF). Null stays null. Labels:

- bands: ``15-19`` (``15`` when the width is 1), ``80+`` from ``top``, ``<15`` below ``lowest``;
- breaks: ``[2500,5000)``, ``<0`` below the first break, ``75000+`` from the last;
- codes: the code list's column for the code (``district``, ``province``, ``group``...);
- month: a date as ``YYYY-MM``; quarter: a date as ``YYYYQn``.

Each coarser level of a hierarchy merges whole classes of the finer one (checked when
conf/release.yaml is loaded), so recoding can only merge cells of the SCRA, never split them.
"""

from __future__ import annotations

from itertools import chain
from pathlib import Path

from pyspark.sql import Column
from pyspark.sql import functions as F

from pseudolink.release.rules import Hierarchy, Level, code_map


def classed(value: Column, h: Hierarchy, level: int, conf_dir: Path | str) -> Column:
    """The class label (a string) of ``value`` at ``level`` of hierarchy ``h``."""
    if h.type == "month":
        return F.date_format(value, "yyyy-MM")
    if h.type == "quarter":
        return F.when(
            value.isNotNull(),
            F.format_string("%04dQ%d", F.year(value), F.quarter(value)),
        )
    if h.type == "codes":
        mapping = code_map(conf_dir, h, level)
        table = F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in mapping.items()))
        return F.when(value.isNotNull(), F.element_at(table, value.cast("string")))
    lv = h.levels[level]
    if h.type == "bands":
        return band(value, lv)
    return bracket(value, lv.breaks)


def band(value: Column, lv: Level) -> Column:
    """Integer ``value`` in classes of ``lv.width`` from ``lv.lowest``, open above ``lv.top``."""
    width, lowest = int(lv.width or 1), int(lv.lowest or 0)
    start = (F.floor((value - F.lit(lowest)) / F.lit(width)) * F.lit(width) + F.lit(lowest)).cast(
        "long"
    )
    if width == 1:
        label = start.cast("string")
    else:
        label = F.concat(
            start.cast("string"), F.lit("-"), (start + F.lit(width - 1)).cast("string")
        )
    out = F.when(value.isNull(), F.lit(None).cast("string"))
    if lv.top is not None:
        out = out.when(value >= F.lit(lv.top), F.lit(f"{lv.top}+"))
    return out.when(value < F.lit(lowest), F.lit(f"<{lowest}")).otherwise(label)


def bracket(value: Column, breaks: list[float]) -> Column:
    """Amount ``value`` in classes ``[b_i,b_i+1)``; ``<b_0`` below, ``b_n+`` from the last."""
    shown = [_num(b) for b in breaks]
    out = F.when(value.isNull(), F.lit(None).cast("string"))
    out = out.when(value >= F.lit(breaks[-1]), F.lit(f"{shown[-1]}+"))
    for i in range(len(breaks) - 2, -1, -1):
        out = out.when(value >= F.lit(breaks[i]), F.lit(f"[{shown[i]},{shown[i + 1]})"))
    return out.otherwise(F.lit(f"<{shown[0]}"))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
