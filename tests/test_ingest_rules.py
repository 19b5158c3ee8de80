"""The ingest's pure parts on hand-built inputs: every validation rule, the typed parsing
(with None), the period label, the header check and exact line numbers across splits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_column_equality, assert_df_equality
from ingest_fixtures import insz
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.errors import InputError
from pseudolink.ingest.lines import (
    SplitStats,
    check_header,
    line_offsets,
    offsets_frame,
    split_stats_frame,
    with_line_numbers,
    with_line_source,
)
from pseudolink.ingest.parse import parse_value, period_of, with_fields, with_period, with_values
from pseudolink.ingest.validate import Rules, with_duplicates, with_reason
from pseudolink.schemas import Column, FileSchema

SCHEMA = FileSchema(
    description="every column type",
    period="quarter",
    period_column="q",
    key=["insz", "q"],
    columns=[
        Column("insz", "insz", required=True),
        Column("n", "integer", min=0, max=10),
        Column("amount", "decimal", min=0),
        Column("day", "date", check="in_period"),
        Column("ym", "year_month", check="not_after_period_end"),
        Column("q", "quarter", required=True, check="in_period"),
        Column("y", "year"),
        Column("c", "code", codelist="yes_no"),
        Column("s", "string"),
    ],
)
RULES = Rules(SCHEMA, {"yes_no": ["N", "Y"]}, dt.date(2016, 1, 1), dt.date(2016, 12, 31))
GOOD = {
    "insz": insz(1),
    "n": "5",
    "amount": "12.50",
    "day": "2016-02-29",
    "ym": "2016-12",
    "q": "2016Q1",
    "y": "1999",
    "c": "Y",
    "s": "abc",
}


def line(i: int, **fields: str) -> str:
    """The good line with other fields; each line gets its own INSZ (no duplicates)."""
    values = {**GOOD, "insz": insz(i), **fields}
    return ";".join(values[c.name] for c in SCHEMA.columns)


def validated(spark, lines):
    df = spark.createDataFrame(
        [(raw, "f.csv", i + 2) for i, raw in enumerate(lines)],
        "_raw string, _file string, _line long",
    )
    return (
        df.transform(with_fields)
        .transform(with_values, SCHEMA)
        .transform(with_period, SCHEMA)
        .transform(with_reason, RULES)
        .transform(with_duplicates, SCHEMA.key)
    )


def reasons(spark, cases):
    """(expected reason, line) pairs -> (actual, expected) frames of line and reason."""
    got = validated(spark, [raw for _, raw in cases]).select("_line", "_reason")
    want = spark.createDataFrame(
        [(i + 2, reason) for i, (reason, _) in enumerate(cases)], "_line long, _reason string"
    )
    return got, want


def test_each_rule_gives_its_reason(spark):
    cases = [
        (None, line(1)),
        (None, line(2, n="", amount="0", day="", ym="2010-01", y="", c="", s="")),
        ("BAD_ENCODING", line(3, s="caf\ufffd")),
        ("BAD_COLUMN_COUNT", line(4).rsplit(";", 1)[0]),
        ("BAD_COLUMN_COUNT", line(5) + ";"),
        ("BAD_COLUMN_COUNT", ""),
        ("MISSING_REQUIRED", line(6, insz="")),
        ("MISSING_REQUIRED", line(7, q="")),
        ("BAD_INSZ", line(8, insz=insz(8)[:9] + "00")),
        ("BAD_INSZ", line(9, insz="8507300332")),
        ("BAD_NUMBER", line(10, n="5a")),
        ("BAD_NUMBER", line(11, n=" 5")),
        ("BAD_NUMBER", line(12, amount="1.234")),
        ("BAD_NUMBER", line(13, n="99999999999")),
        ("BAD_DATE", line(14, day="2016-02-30")),
        ("BAD_DATE", line(15, ym="2016-13")),
        ("BAD_DATE", line(16, q="2016Q5")),
        ("BAD_DATE", line(17, y="99")),
        ("UNKNOWN_CODE", line(18, c="y")),
        ("OUT_OF_RANGE", line(19, n="11")),
        ("OUT_OF_RANGE", line(20, amount="-0.01")),
        ("OUT_OF_PERIOD", line(21, day="2017-01-01")),
        ("OUT_OF_PERIOD", line(22, q="2015Q4")),
        ("OUT_OF_PERIOD", line(23, ym="2017-01")),
        ("BAD_INSZ", line(24, insz="12345678901", c="X")),  # the first rule wins
        ("UNKNOWN_CODE", line(25, c="X", n="11")),
    ]
    got, want = reasons(spark, cases)
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_details_name_the_column_and_never_the_insz(spark):
    cases = [line(1, n="11"), line(2, insz="12345678901"), line(3, c="X"), line(4, day="x")]
    details = [r["_detail"] for r in validated(spark, cases).orderBy("_line").collect()]
    assert details == [
        "n: '11' above the maximum 10",
        "insz: not a valid INSZ",
        "c: 'X' not in yes_no",
        "day: 'x' is not a date (YYYY-MM-DD)",
    ]


def test_duplicate_key_keeps_the_first_good_line(spark):
    cases = [
        ("UNKNOWN_CODE", line(1, c="X")),  # broken: does not claim the key
        (None, line(1)),
        ("DUPLICATE_KEY", line(1, s="other")),
        (None, line(1, q="2016Q2")),  # other quarter: other key
    ]
    got, want = reasons(spark, cases)
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)
    dup = validated(spark, [c for _, c in cases]).filter(F.col("_line") == 4).first()
    assert dup["_detail"] == "key (insz, q) first seen in f.csv line 3"


def test_typed_values_and_period(spark):
    row = validated(spark, [line(1)]).first()
    assert (row["n"], row["amount"], row["day"]) == (5, Decimal("12.50"), dt.date(2016, 2, 29))
    assert (row["ym"], row["q"], row["y"], row["period"]) == ("2016-12", "2016Q1", 1999, "2016Q1")


@pytest.mark.parametrize(
    ("type_", "spark_type", "cases"),
    [
        (
            "integer",
            "int",
            [("5", 5), ("-3", -3), ("5.0", None), ("2147483648", None), (None, None)],
        ),
        ("decimal", "decimal(14,2)", [("1.5", Decimal("1.50")), ("1e3", None), (None, None)]),
        ("date", "date", [("2016-01-31", dt.date(2016, 1, 31)), ("2016-1-31", None), (None, None)]),
        ("year", "int", [("2016", 2016), ("16", None), (None, None)]),
        ("quarter", "string", [("2016Q4", "2016Q4"), ("2016q4", None), (None, None)]),
    ],
)
def test_parse_value_never_throws(spark, type_, spark_type, cases):
    df = spark.createDataFrame(cases, f"text string, want {spark_type}")
    df = df.withColumn("got", parse_value(F.col("text"), type_))
    assert_column_equality(df, "got", "want")


def test_period_label_from_a_date_column(spark):
    df = spark.createDataFrame(
        [(dt.date(2016, 5, 2), "2016", "2016Q2"), (None, None, None)],
        "d date, year string, quarter string",
    )
    column = Column("d", "date")
    df = df.select(
        "*",
        period_of(F.col("d"), column, "year").alias("got_year"),
        period_of(F.col("d"), column, "quarter").alias("got_quarter"),
    )
    assert_column_equality(df, "got_year", "year")
    assert_column_equality(df, "got_quarter", "quarter")


def test_line_numbers_are_exact_across_splits(spark, tmp_path):
    # 3000 lines, numbered in the text, read in many small splits of two files.
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("".join(f"{i}\n" for i in range(1, 3001)))
    key = "spark.sql.files.maxPartitionBytes"
    old = spark.conf.get(key)
    spark.conf.set(key, "2000")
    try:
        text = spark.read.option("lineSep", "\n").text(
            [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
        )
        lines = with_line_source(text).cache()
        stats = [SplitStats(*r) for r in split_stats_frame(lines).collect()]
        offsets, totals, headers = line_offsets(stats)
        numbered = with_line_numbers(lines, offsets_frame(spark, offsets))
        wrong = numbered.filter(F.col("_line") != F.col("_raw").cast("long")).count()
        lines.unpersist()
    finally:
        spark.conf.set(key, old)
    assert len(stats) > 10 and wrong == 0
    assert totals == {"a.csv": 3000, "b.csv": 3000} and headers == {"a.csv": "1", "b.csv": "1"}


@pytest.mark.parametrize(
    ("found", "hint"),
    [
        ("\ufeffa;b", "byte-order mark"),
        ("a;b\r", "line ends are \\r\\n"),
        ("a,b", "wrong delimiter: fields are separated by ','"),
        ("a\tb", "wrong delimiter: fields are separated by '\\t'"),
        ("a;c", "wrong header: expected 'a;b', found 'a;c'"),
        ("85073003328;12", "found a line of 2 fields that are not column names"),
        (None, "empty file"),
    ],
)
def test_header_problems(found, hint):
    with pytest.raises(InputError, match="^f.csv: ") as info:
        check_header("f.csv", found, ["a", "b"])
    assert hint in str(info.value)
    check_header("f.csv", "a;b", ["a", "b"])


def test_schema_of_typed_columns(spark):
    fields = {f.name: f.dataType for f in validated(spark, [line(1)]).schema.fields}
    assert fields["n"] == T.IntegerType() and fields["amount"] == T.DecimalType(14, 2)
    assert fields["day"] == T.DateType() and fields["y"] == T.IntegerType()
