"""The validation rules: one reason code per quarantined line, the first that fails.

Rules, in the order they are tried (within a rule, columns in file order):

1. BAD_ENCODING      the line is not valid UTF-8 (or holds U+FFFD, the replacement mark)
2. BAD_COLUMN_COUNT  not exactly as many ';'-separated fields as the schema has columns
3. MISSING_REQUIRED  a required field is empty
4. BAD_INSZ          an insz field is not 11 digits with valid check digits
5. BAD_NUMBER        an integer or decimal field does not parse
6. BAD_DATE          a date, year_month, quarter or year field does not parse
7. UNKNOWN_CODE      a code field is not in its code list
8. OUT_OF_RANGE      a number is below the column's min or above its max
9. OUT_OF_PERIOD     ``check: in_period`` or ``check: not_after_period_end`` fails
10. DUPLICATE_KEY    the key was already seen on an earlier accepted line of the delivery

Everything here is a native Spark expression: no Python UDF.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.ingest.parse import (
    CALENDAR_TYPES,
    NUMBER_TYPES,
    REPLACEMENT_CHAR,
    text_col,
    value_end,
    value_start,
)
from pseudolink.insz import insz_is_valid
from pseudolink.schemas import Column as SchemaColumn
from pseudolink.schemas import FileSchema

REASONS = (
    "BAD_ENCODING",
    "BAD_COLUMN_COUNT",
    "MISSING_REQUIRED",
    "BAD_INSZ",
    "BAD_NUMBER",
    "BAD_DATE",
    "UNKNOWN_CODE",
    "OUT_OF_RANGE",
    "OUT_OF_PERIOD",
    "DUPLICATE_KEY",
)


@dataclass(frozen=True)
class Rules:
    """What the rules need besides the schema: the code lists and the delivery's period."""

    schema: FileSchema
    codes: dict[str, list[str]]  # code list name -> its codes
    period_from: dt.date
    period_to: dt.date


def with_reason(df: DataFrame, rules: Rules) -> DataFrame:
    """Add ``_reason`` and ``_detail``: the first failing rule, null for a good line."""
    checks = _checks(rules)
    first = F.coalesce(
        *[
            F.when(cond, F.struct(F.lit(code).alias("reason"), detail.alias("detail")))
            for code, cond, detail in checks
        ]
    )
    why = df.withColumn("_why", first)
    return why.select(
        *df.columns,
        F.col("_why.reason").alias("_reason"),
        F.col("_why.detail").alias("_detail"),
    )


def with_duplicates(df: DataFrame, key: list[str]) -> DataFrame:
    """Quarantine every good line whose key an earlier good line (by file, line) has.

    Only lines that passed every other rule take part, so a broken first line never hides
    a good later one. The keys seen more than once are found by one aggregation over the
    key columns of the good lines (a narrow shuffle), and joined back to the lines; the
    lines themselves are never shuffled. Duplicates are rare, so the join broadcasts them.
    """
    return mark_duplicates(df, duplicate_keys(df, key), key)


def duplicate_keys(df: DataFrame, key: list[str]) -> DataFrame:
    """The keys that more than one good line has, with the first such line (file, line)."""
    return (
        df.filter(F.col("_reason").isNull())
        .groupBy(*key)
        .agg(
            F.count(F.lit(1)).alias("_seen"),
            F.min(F.struct(F.col("_file"), F.col("_line"))).alias("_first"),
        )
        .filter(F.col("_seen") > 1)
        .select(*key, "_first")
    )


def mark_duplicates(df: DataFrame, repeated: DataFrame, key: list[str]) -> DataFrame:
    """Give DUPLICATE_KEY to every good line of a repeated key but its first one."""
    good = F.col("_reason").isNull()
    marked = df.join(F.broadcast(repeated), key, "left")
    dup = (
        good
        & F.col("_first").isNotNull()
        & ((F.col("_first._file") != F.col("_file")) | (F.col("_first._line") != F.col("_line")))
    )
    detail = F.format_string(
        "key (%s) first seen in %s line %d", F.lit(", ".join(key)), "_first._file", "_first._line"
    )
    return marked.select(
        *[c for c in df.columns if c not in ("_reason", "_detail")],
        F.when(dup, F.lit("DUPLICATE_KEY")).otherwise(F.col("_reason")).alias("_reason"),
        F.when(dup, detail).otherwise(F.col("_detail")).alias("_detail"),
    )


def _checks(rules: Rules) -> list[tuple[str, Column, Column]]:
    """(reason, failing condition, detail) in rule order, then column order."""
    columns = rules.schema.columns
    n = len(columns)
    raw = F.col("_raw")
    checks: list[tuple[str, Column, Column]] = [
        (
            "BAD_ENCODING",
            ~F.is_valid_utf8(raw) | raw.contains(REPLACEMENT_CHAR),
            F.lit("line is not valid UTF-8"),
        ),
        (
            "BAD_COLUMN_COUNT",
            F.size("_fields") != n,
            F.format_string(f"expected {n} fields separated by ';', found %d", F.size("_fields")),
        ),
    ]
    by_rule: dict[str, list[tuple[Column, Column]]] = {r: [] for r in REASONS}
    for c in columns:
        for rule, cond, detail in _column_checks(c, rules):
            by_rule[rule].append((cond, detail))
    for reason in REASONS[2:]:
        checks += [(reason, F.coalesce(cond, F.lit(False)), d) for cond, d in by_rule[reason]]
    return checks


def _column_checks(c: SchemaColumn, rules: Rules) -> list[tuple[str, Column, Column]]:
    """(reason, failing condition, detail) of one column, for every rule that applies."""
    out: list[tuple[str, Column, Column]] = []
    lo, hi = F.lit(rules.period_from), F.lit(rules.period_to)
    text, value = F.col(text_col(c.name)), F.col(c.name)
    present = text.isNotNull()
    shown = F.substring(text, 1, 40)
    if c.required:
        out.append(("MISSING_REQUIRED", ~present, F.lit(f"{c.name}: required, empty")))
    if c.type == "insz":
        out.append(
            ("BAD_INSZ", present & ~insz_is_valid(text), F.lit(f"{c.name}: not a valid INSZ"))
        )
    if c.type in NUMBER_TYPES or c.type in CALENDAR_TYPES:
        rule = "BAD_NUMBER" if c.type in NUMBER_TYPES else "BAD_DATE"
        what = {"integer": "an integer", "decimal": "a decimal with at most 2 decimals"}
        expected = what.get(c.type, f"a {c.type} ({_FORMATS.get(c.type)})")
        out.append((rule, present & value.isNull(), _detail(c.name, shown, f"is not {expected}")))
    if c.type == "code":
        codes = rules.codes[c.codelist or ""]
        out.append(
            (
                "UNKNOWN_CODE",
                present & ~text.isin(codes),
                _detail(c.name, shown, f"not in {c.codelist}"),
            )
        )
    if c.min is not None:
        why = f"below the minimum {_num(c.min)}"
        out.append(("OUT_OF_RANGE", value < _num(c.min), _detail(c.name, shown, why)))
    if c.max is not None:
        why = f"above the maximum {_num(c.max)}"
        out.append(("OUT_OF_RANGE", value > _num(c.max), _detail(c.name, shown, why)))
    if c.check and c.type in CALENDAR_TYPES:
        start, end = value_start(value, c.type), value_end(value, c.type)
        if c.check == "in_period":
            fails = (start > hi) | (end < lo)
            why = f"outside the period {rules.period_from}..{rules.period_to}"
        else:
            fails = start > hi
            why = f"after the period end {rules.period_to}"
        out.append(("OUT_OF_PERIOD", value.isNotNull() & fails, _detail(c.name, shown, why)))
    return out


_FORMATS = {"date": "YYYY-MM-DD", "year_month": "YYYY-MM", "quarter": "YYYYQn", "year": "YYYY"}


def _detail(name: str, shown: Column, why: str) -> Column:
    return F.format_string(f"{name}: '%s' {why}", shown)


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
