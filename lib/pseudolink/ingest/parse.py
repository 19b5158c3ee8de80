"""Split a line on ';' and parse every field into its schema type, without ever throwing.

ANSI mode is on, so every conversion is guarded: a strict regular expression first (``\\z``
rather than ``$``, which in Java also matches before a final line terminator), then a
``try_`` conversion. A field that is present but does not parse becomes null in its typed
column while its text stays in ``_s_<column>``; the rules in :mod:`.validate` compare the
two.

Typed columns: insz, string, code, year_month (``YYYY-MM``) and quarter (``YYYYQn``) stay
strings; integer -> int; decimal -> decimal(14,2); date -> date; year -> int.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.schemas import Column as SchemaColumn
from pseudolink.schemas import FileSchema

DECIMAL = "decimal(14,2)"
PATTERNS = {
    "integer": r"^-?[0-9]{1,9}\z",
    "decimal": r"^-?[0-9]{1,12}(\.[0-9]{1,2})?\z",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\z",
    "year_month": r"^[0-9]{4}-(0[1-9]|1[0-2])\z",
    "quarter": r"^[0-9]{4}Q[1-4]\z",
    "year": r"^[0-9]{4}\z",
}
NUMBER_TYPES = ("integer", "decimal")
CALENDAR_TYPES = ("date", "year_month", "quarter", "year")
REPLACEMENT_CHAR = "\ufffd"


def text_col(name: str) -> str:
    """The name of the column holding a field's text (null when empty)."""
    return f"_s_{name}"


def parse_value(text: Column, type_: str) -> Column:
    """The typed value of a field's text, null when it is null or does not parse."""
    if type_ in ("insz", "string", "code"):
        return text
    guard = text.rlike(PATTERNS[type_])
    if type_ == "integer":
        value = text.try_cast("int")
    elif type_ == "decimal":
        value = text.try_cast(DECIMAL)
    elif type_ == "date":
        value = F.try_to_date(text, "yyyy-MM-dd")
    elif type_ == "year":
        value = text.try_cast("int")
    else:  # year_month, quarter: checked text
        value = text
    return F.when(guard, value)


def value_start(value: Column, type_: str) -> Column:
    """The first day a calendar value covers (for the period checks)."""
    if type_ == "date":
        return value
    if type_ == "year_month":
        return F.try_to_date(F.concat(value, F.lit("-01")), "yyyy-MM-dd")
    if type_ == "quarter":
        year = F.substring(value, 1, 4).try_cast("int")
        quarter = F.substring(value, 6, 1).try_cast("int")
        return F.make_date(year, (quarter - 1) * 3 + 1, F.lit(1))
    return F.make_date(value, F.lit(1), F.lit(1))  # year


def value_end(value: Column, type_: str) -> Column:
    """The last day a calendar value covers (for the period checks)."""
    if type_ == "date":
        return value
    if type_ == "year_month":
        return F.last_day(value_start(value, type_))
    if type_ == "quarter":
        return F.last_day(F.add_months(value_start(value, type_), 2))
    return F.make_date(value, F.lit(12), F.lit(31))  # year


def with_fields(lines: DataFrame) -> DataFrame:
    """Add ``_fields``: the line split on every ';' (empty trailing fields kept)."""
    return lines.withColumn("_fields", F.split(F.col("_raw"), ";", -1))


def with_values(df: DataFrame, schema: FileSchema) -> DataFrame:
    """Add per column its text (``_s_<name>``, null if empty) and its typed value."""
    texts = [_field(i).alias(text_col(c.name)) for i, c in enumerate(schema.columns)]
    with_text = df.select("*", *texts)
    typed = [parse_value(F.col(text_col(c.name)), c.type).alias(c.name) for c in schema.columns]
    return with_text.select("*", *typed)


def with_period(df: DataFrame, schema: FileSchema) -> DataFrame:
    """Add ``period``: 'YYYYQn' or 'YYYY' from the schema's period column (null if bad)."""
    column = next(c for c in schema.columns if c.name == schema.period_column)
    return df.withColumn("period", period_of(F.col(column.name), column, schema.period))


def period_of(value: Column, column: SchemaColumn, period: str) -> Column:
    """The partition label of a typed value of a date, quarter, year_month or year column."""
    if column.type == "quarter":
        label = value if period == "quarter" else F.substring(value, 1, 4)
        return label
    start = value_start(value, column.type)
    if period == "quarter":
        return F.when(start.isNotNull(), F.format_string("%dQ%d", F.year(start), F.quarter(start)))
    return F.when(start.isNotNull(), F.year(start).cast("string"))


def _field(i: int) -> Column:
    return F.nullif(F.try_element_at(F.col("_fields"), F.lit(i + 1)), F.lit(""))
