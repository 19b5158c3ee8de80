"""One hierarchy, one place: the classes of a release hierarchy at one of its levels.

A :class:`~pseudolink.release.rules.Hierarchy` (conf/release.yaml ``hierarchies:``) is
interpreted here only. At a level it yields:

- :func:`classed`: the class label of a value as a native Spark expression (no UDF), what
  the release writes and the SCRA counts;
- :func:`label_of`: the same label for one Python value (pure Python);
- :func:`class_labels`: the labels of the classes, for the data dictionary;
- :func:`describe`: a short description of the level, for reports.

Labels (null stays null):

- bands: ``15-19`` (``15`` when the width is 1), ``80+`` from ``top``, ``<15`` below ``lowest``;
- breaks: ``[2500,5000)``, ``<0`` below the first break, ``75000+`` from the last;
- codes: the code list's column for the code (``district``, ``province``, ``group``...; the
  code itself for ``code``); null for a code the list does not have;
- month: a date as ``YYYY-MM``; quarter: a date as ``YYYYQn``.

A bands or breaks level is a list of :class:`Class` (lower bound included, upper bound
excluded, label) made by :func:`classes` alone: the Spark expression tests them from the top,
:func:`label_of` looks a value up in them and :func:`class_labels` lists them. A bands level
without ``top`` is open: its classes go on without end, so above the listed ones both the
Spark expression and :func:`label_of` compute the class with the rule that makes the listed
ones (:func:`_band_start`, :func:`_band_label`). Months and quarters share their format
(:data:`PERIOD_FORMATS`), codes their code map (:func:`pseudolink.release.rules.code_map`).

Each coarser level of a hierarchy merges whole classes of the finer one (checked when
conf/release.yaml is loaded), so recoding can only merge cells of the SCRA, never split them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

from pyspark.sql import Column
from pyspark.sql import functions as F

from pseudolink.release.rules import Hierarchy, Level, code_map

# An open bands level (no top) lists this many classes, then an ellipsis.
OPEN_BANDS_SHOWN = 10
OPEN_ELLIPSIS = "..."
# Periods: the printf format of a label (Python's % and Spark's format_string agree on it),
# with its year and month or quarter; and how the data dictionary shows the labels.
PERIOD_FORMATS = {"month": "%04d-%02d", "quarter": "%04dQ%d"}
PERIOD_PLACEHOLDERS = {"month": "YYYY-MM", "quarter": "YYYYQn"}
_PERIOD_PARTS: dict[str, tuple[Callable[[Column], Column], Callable[[dt.date], int]]] = {
    "month": (F.month, lambda d: d.month),
    "quarter": (F.quarter, lambda d: (d.month - 1) // 3 + 1),
}


class Class(NamedTuple):
    """One class of a bands or breaks level: ``lower <= value < upper``."""

    lower: float | None  # None: no lower bound (the class below the first bound)
    upper: float | None  # None: no upper bound (the top class)
    label: str


def classes(h: Hierarchy, level: int, shown: int = OPEN_BANDS_SHOWN) -> list[Class]:
    """The classes of bands or breaks hierarchy ``h`` at ``level``, ascending; the first has
    no lower bound. An open bands level lists ``shown`` classes from ``lowest``; the ones
    above them (no upper bound to the last listed) follow the same rule."""
    lv = h.levels[level]
    if h.type == "breaks":
        b, s = lv.breaks, [_num(x) for x in lv.breaks]
        out = [Class(None, b[0], f"<{s[0]}")]
        out += [Class(b[i], b[i + 1], f"[{s[i]},{s[i + 1]})") for i in range(len(b) - 1)]
        return [*out, Class(b[-1], None, f"{s[-1]}+")]
    if h.type != "bands":
        raise ValueError(f"a {h.type} hierarchy has no numeric classes")
    width, lowest = _width_lowest(lv)
    stop = lv.top if lv.top is not None else lowest + width * shown
    out = [Class(None, lowest, f"<{lowest}")]
    out += [Class(s, s + width, _band_label(s, width)) for s in range(lowest, stop, width)]
    if lv.top is not None:
        out.append(Class(lv.top, None, f"{lv.top}+"))
    return out


def classed(value: Column, h: Hierarchy, level: int, conf_dir: Path | str) -> Column:
    """The class label (a string) of ``value`` at ``level`` of hierarchy ``h``."""
    if h.type in PERIOD_FORMATS:
        spark_part, _ = _PERIOD_PARTS[h.type]
        year = F.year(value)
        return F.when(
            year.isNotNull(), F.format_string(PERIOD_FORMATS[h.type], year, spark_part(value))
        )
    if h.type == "codes":
        mapping = code_map(conf_dir, h, level)
        table = F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in mapping.items()))
        return F.when(value.isNotNull(), F.element_at(table, value.cast("string")))
    listed = classes(h, level, shown=0)
    out = F.when(value.isNull(), F.lit(None).cast("string"))
    tail = _open_from(h, level, listed)
    if tail is not None:  # an open bands level: every class from lowest by the rule
        width, lowest = _width_lowest(h.levels[level])
        start = _band_start(value, lowest, width, lambda x: F.floor(x).cast("long"))
        out = out.when(value >= F.lit(tail), _band_label(start, width))
    # Classes ascending (the first has no lower bound): a value below the next class's
    # lower bound is in this one. Most amounts are 0, so this order decides most rows in
    # two comparisons (descending took all 13: twice the time on 100 000 persons' incomes).
    for c, above in zip(listed, listed[1:], strict=False):
        out = out.when(value < F.lit(above.lower), F.lit(c.label))
    return out.otherwise(F.lit(listed[-1].label))


def label_of(h: Hierarchy, level: int, value: Any, conf_dir: Path | str) -> str | None:
    """The label :func:`classed` gives ``value`` (one Python value) at ``level`` of ``h``.

    Bands and breaks take a number (int, float, Decimal, or a string of one); a float NaN is
    above every class, as Spark orders it. Codes compare the value as a string. Months and
    quarters take a date, a datetime (its own fields: the session's time zone is UTC) or an
    ISO date string. None gives None.
    """
    if value is None:
        return None
    if h.type in PERIOD_FORMATS:
        day = _as_date(value)
        if day is None:
            return None
        _, py_part = _PERIOD_PARTS[h.type]
        return PERIOD_FORMATS[h.type] % (day.year, py_part(day))
    if h.type == "codes":
        return code_map(conf_dir, h, level).get(str(value))
    x = _as_number(value)
    if x is None:
        return None
    listed = classes(h, level, shown=0)
    tail = _open_from(h, level, listed)
    if tail is not None and x >= tail:
        width, lowest = _width_lowest(h.levels[level])
        return _band_label(_band_start(x, lowest, width, math.floor), width)
    first, *above = listed  # the first class has no lower bound
    return next((c.label for c in reversed(above) if x >= c.lower), first.label)


def class_labels(h: Hierarchy, level: int, conf_dir: Path | str) -> list[str]:
    """The labels of the classes of ``h`` at ``level``, in order (codes: in the order of the
    code list). A month or quarter has one pattern (``YYYY-MM``, ``YYYYQn``); an open bands
    level lists its first :data:`OPEN_BANDS_SHOWN` classes, then ``...``."""
    if h.type in PERIOD_PLACEHOLDERS:
        return [PERIOD_PLACEHOLDERS[h.type]]
    if h.type == "codes":
        return list(dict.fromkeys(code_map(conf_dir, h, level).values()))
    labels = [c.label for c in classes(h, level)]
    if _is_open(h, level):
        labels.append(OPEN_ELLIPSIS)
    return labels


def describe(h: Hierarchy, level: int, unit: str | None = None) -> str:
    """A short description of ``h`` at ``level`` for reports: bands ``classes of 5 (top 80+)``
    (``5-year classes (top 80+)`` with ``unit="year"``), breaks ``14 amount classes``, codes
    the code list's column (``district``; ``the code itself``), ``month (YYYY-MM)``,
    ``quarter (YYYYQn)``. ``unit`` applies to bands only."""
    if h.type in PERIOD_PLACEHOLDERS:
        return f"{h.type} ({PERIOD_PLACEHOLDERS[h.type]})"
    lv = h.levels[level]
    if h.type == "codes":
        column = lv.column or "code"
        return "the code itself" if column == "code" else column
    if h.type == "breaks":
        return f"{len(classes(h, level))} amount classes"
    width, _ = _width_lowest(lv)
    text = f"{width}-{unit} classes" if unit else f"classes of {width}"
    return text if lv.top is None else f"{text} (top {lv.top}+)"


# --- the shared rules ---------------------------------------------------------------------


def _width_lowest(lv: Level) -> tuple[int, int]:
    return int(lv.width or 1), int(lv.lowest or 0)


def _band_start(value: Any, lowest: int, width: int, floor: Callable[[Any], Any]) -> Any:
    """The start of the band of ``value`` (a number, or a Spark Column with ``F.floor``)."""
    return floor((value - lowest) / width) * width + lowest


def _band_label(start: Any, width: int) -> Any:
    """The label of the band from ``start``: a str for an int, a Column for a Column."""
    fmt, args = ("%d", (start,)) if width == 1 else ("%d-%d", (start, start + (width - 1)))
    if isinstance(start, Column):
        return F.format_string(fmt, *args)
    return fmt % args


def _is_open(h: Hierarchy, level: int) -> bool:
    return h.type == "bands" and h.levels[level].top is None


def _open_from(h: Hierarchy, level: int, listed: list[Class]) -> float | None:
    """Where the classes computed by the rule start: above the listed ones of an open level."""
    return listed[-1].upper if _is_open(h, level) else None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _as_number(value: Any) -> float | Decimal | None:
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return None
    if (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, Decimal) and value.is_nan()
    ):
        return math.inf  # Spark orders NaN above every number
    return value


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    raise TypeError(f"a month or quarter needs a date, not {type(value).__name__}")
