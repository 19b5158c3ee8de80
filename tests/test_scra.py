"""SCRA measures (sdcMicro's fk, risks) on hand-built frames with known answers; the
treatment is tested in tests/test_treat.py."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.release.scra import (
    cell_size_distribution,
    frequencies,
    household_risk,
    summary,
)

KEYS = ["sex", "age"]
SCHEMA = T.StructType(
    [
        T.StructField("population", T.IntegerType()),
        T.StructField("year", T.IntegerType()),
        T.StructField("person_id", T.LongType()),
        T.StructField("household_id", T.LongType()),
        T.StructField("sex", T.StringType()),
        T.StructField("age", T.StringType()),
    ]
)


def records(spark, rows):
    """rows: (year, person, household, sex, age) in population 2016."""
    return spark.createDataFrame([(2016, y, p, h, s, a) for y, p, h, s, a in rows], SCHEMA)


def fk_of(df):
    return {r["person_id"]: r["fk"] for r in df.collect()}


def test_fk_counts_equal_key_combinations_per_population_and_year(spark):
    df = records(
        spark,
        [
            (2016, 1, 1, "M", "20-24"),
            (2016, 2, 2, "M", "20-24"),
            (2016, 3, 3, "F", "20-24"),
            (2017, 4, 4, "M", "20-24"),  # another year: its own group
        ],
    )
    assert fk_of(frequencies(df, KEYS)) == {1: 2, 2: 2, 3: 1, 4: 1}


def test_missing_values_match_every_category(spark):
    # sdcMicro: a missing value stands for any category, both ways.
    df = records(
        spark,
        [
            (2016, 1, 1, "M", "20-24"),
            (2016, 2, 2, "M", "20-24"),
            (2016, 3, 3, "M", None),  # matches 1, 2 and 5
            (2016, 4, 4, "F", "30-34"),  # matches 5 only
            (2016, 5, 5, None, None),  # matches everyone
        ],
    )
    assert fk_of(frequencies(df, KEYS)) == {1: 4, 2: 4, 3: 4, 4: 2, 5: 5}


def brute_fk(rows, keys_count):
    """The oracle: pairwise compatibility, as sdcMicro defines it."""
    out = {}
    for i, a in enumerate(rows):
        out[i] = sum(
            1
            for b in rows
            if a[0] == b[0]
            and all(
                a[1 + j] is None or b[1 + j] is None or a[1 + j] == b[1 + j]
                for j in range(keys_count)
            )
        )
    return out


value = st.one_of(st.none(), st.sampled_from(["a", "b"]))


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from([2016, 2017]), value, value, value), max_size=14))
def test_fk_matches_a_pairwise_oracle(spark, rows):
    keys = ["k0", "k1", "k2"]
    schema = "year int, person_id long, k0 string, k1 string, k2 string"
    df = spark.createDataFrame([(r[0], i, *r[1:]) for i, r in enumerate(rows)], schema)
    df = df.withColumn("population", F.lit(2016))
    got = {r["person_id"]: r["fk"] for r in frequencies(df, keys).collect()}
    assert got == brute_fk(rows, 3)
    # Counting only some records' combinations (the treatment's later rounds): theirs are
    # exact, counted against every record (so are the records sharing one of them); the
    # others are left null.
    looking = F.col("person_id") % 3 == 0
    some = {r["person_id"]: r["fk"] for r in frequencies(df, keys, looking=looking).collect()}
    looked = {rows[i] for i in range(0, len(rows), 3)}  # a combination, with its group
    assert some == {i: (n if rows[i] in looked else None) for i, n in brute_fk(rows, 3).items()}


def test_individual_risk_expected_reidentifications_and_cells(spark):
    df = records(
        spark,
        [
            (2016, 1, 1, "M", "20-24"),
            (2016, 2, 1, "M", "20-24"),
            (2016, 3, 2, "F", "20-24"),
            (2016, 4, 3, "F", "40-44"),
        ],
    )
    scored = household_risk(frequencies(df, KEYS))
    risks = {r["person_id"]: r["risk"] for r in scored.collect()}
    assert risks == {1: 0.5, 2: 0.5, 3: 1.0, 4: 1.0}
    row = summary(scored, KEYS, k=2).first()
    assert row["records"] == 4
    assert row["records_below_k"] == 2
    assert row["cells_below_k"] == 2
    assert row["expected_reidentifications"] == pytest.approx(3.0)
    assert row["global_risk"] == pytest.approx(0.75)


def test_household_risk_is_one_minus_the_product_over_members(spark):
    df = records(
        spark,
        [
            (2016, 1, 7, "M", "20-24"),  # r = 1/2
            (2016, 2, 7, "F", "20-24"),  # r = 1/2 (with 3)
            (2016, 3, 8, "F", "20-24"),
            (2016, 4, 8, "M", "20-24"),
        ],
    )
    got = {
        r["person_id"]: r["household_risk"] for r in household_risk(frequencies(df, KEYS)).collect()
    }
    assert got[1] == pytest.approx(1 - 0.5 * 0.5)
    assert got[2] == pytest.approx(0.75)
    df2 = records(spark, [(2016, 1, 9, "M", "20-24"), (2016, 2, 9, "F", "20-24")])
    unique = household_risk(frequencies(df2, KEYS))
    assert {r["household_risk"] for r in unique.collect()} == {1.0}


def test_cell_size_distribution(spark):
    df = records(spark, [(2016, i, i, "M", "a" if i < 3 else "b") for i in range(8)])
    got = cell_size_distribution(frequencies(df, KEYS))
    expected = spark.createDataFrame(
        [(2016, "3", 3), (2016, "5-9", 5)], "population int, cell_size string, records long"
    )
    assert_df_equality(
        got, expected, ignore_row_order=True, ignore_nullable=True, ignore_column_order=True
    )
