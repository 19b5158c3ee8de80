"""SCRA measures, coarsening and treatment on hand-built frames with known answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.errors import ConfigError
from pseudolink.release.coarsen import classed
from pseudolink.release.rules import (
    ColumnRule,
    Hierarchy,
    Level,
    ReleaseRules,
    TableRule,
    load_rules,
)
from pseudolink.release.scra import (
    cell_size_distribution,
    frequencies,
    household_risk,
    longitudinal_frequencies,
    longitudinal_only,
    summary,
)
from pseudolink.release.treat import (
    CHANGED,
    at_levels,
    longitudinal_small,
    start_levels,
    suppress_longitudinal,
    treat,
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


def test_a_person_unique_across_the_years_although_in_no_single_year(spark):
    # Every yearly cell holds 2 persons; every trajectory is unique.
    df = records(
        spark,
        [
            (2016, 1, 1, "M", "x"),
            (2016, 2, 2, "M", "x"),
            (2016, 3, 3, "F", "x"),
            (2016, 4, 4, "F", "x"),
            (2017, 1, 1, "M", "x"),
            (2017, 2, 2, "F", "x"),
            (2017, 3, 3, "M", "x"),
            (2017, 4, 4, "F", "x"),
        ],
    )
    scored = frequencies(df, KEYS)
    assert min(fk_of(scored).values()) == 2
    lf = longitudinal_frequencies(df, KEYS)
    assert {r["person_id"]: r["long_fk"] for r in lf.collect()} == {1: 1, 2: 1, 3: 1, 4: 1}
    assert longitudinal_only(scored, lf, k=2).count() == 4
    # All keys missing in every year: matches every person of the population.
    blank = records(spark, [(2016, 1, 1, None, None), (2016, 2, 2, "M", "x")])
    got = {r["person_id"]: r["long_fk"] for r in longitudinal_frequencies(blank, KEYS).collect()}
    assert got == {1: 2, 2: 1}


def test_cell_size_distribution(spark):
    df = records(spark, [(2016, i, i, "M", "a" if i < 3 else "b") for i in range(8)])
    got = cell_size_distribution(frequencies(df, KEYS))
    expected = spark.createDataFrame(
        [(2016, "3", 3), (2016, "5-9", 5)], "population int, cell_size string, records long"
    )
    assert_df_equality(
        got, expected, ignore_row_order=True, ignore_nullable=True, ignore_column_order=True
    )


# --- coarsening ---------------------------------------------------------------------------


def one_value(spark, value, dtype, h, level, repo):
    df = spark.createDataFrame([(value,)], f"v {dtype}")
    return df.select(classed(F.col("v"), h, level, repo / "conf").alias("c")).first()["c"]


def test_classes_of_every_hierarchy_type(spark, repo):
    rules = load_rules(repo / "conf")
    age = rules.hierarchies["age"]
    assert [one_value(spark, v, "int", age, 0, repo) for v in (14, 15, 19, 37, 79, 80, 99)] == [
        "<15",
        "15-19",
        "15-19",
        "35-39",
        "75-79",
        "80+",
        "80+",
    ]
    assert one_value(spark, 79, "int", age, 1, repo) == "75+"
    assert one_value(spark, None, "int", age, 0, repo) is None
    amount = rules.hierarchies["amount"]
    got = [
        one_value(spark, Decimal(v), "decimal(14,2)", amount, 0, repo)
        for v in ("-5", "0", "0.5", "2500", "80000")
    ]
    assert got == ["<0", "[0,1)", "[0,1)", "[2500,5000)", "75000+"]
    residence = rules.hierarchies["residence"]
    assert one_value(spark, "11001", "string", residence, 1, repo) == "11"
    assert one_value(spark, "11001", "string", residence, 2, repo) == "ANT"
    assert one_value(spark, "11001", "string", residence, 3, repo) == "FL"
    month = rules.hierarchies["month"]
    assert one_value(spark, dt.date(2019, 3, 7), "date", month, 0, repo) == "2019-03"


def test_rules_refuse_a_hierarchy_that_splits_classes(tmp_path, repo):
    text = (repo / "conf" / "release.yaml").read_text()
    bad = text.replace("- {width: 10, lowest: 15, top: 75}", "- {width: 7, lowest: 15, top: 71}")
    (tmp_path / "release.yaml").write_text(bad)
    (tmp_path / "codes").symlink_to(repo / "conf" / "codes")
    with pytest.raises(
        ConfigError, match=r"release.yaml: key 'hierarchies.age': .*merge whole classes"
    ):
        load_rules(tmp_path)
    unknown = text.replace("  - education_level\n\n# Global", "  - education_levle\n\n# Global")
    (tmp_path / "release.yaml").write_text(unknown)
    with pytest.raises(ConfigError, match="education_levle"):
        load_rules(tmp_path)


# --- treatment ----------------------------------------------------------------------------

AGE = Hierarchy(
    "bands",
    levels=[
        Level(width=5, lowest=0, top=80),
        Level(width=10, lowest=0, top=80),
        Level(width=40, lowest=0, top=80),
    ],
)


def tiny_rules(k=2, longitudinal=True, recode_above=0.0):
    demobel = TableRule(
        "demobel",
        "year",
        "",
        {
            "population": ColumnRule(),
            "year": ColumnRule(),
            "person_id": ColumnRule(),
            "household_id": ColumnRule(),
            "sex": ColumnRule(),
            "age_class": ColumnRule(source="age", hierarchy="age"),
        },
    )
    census = TableRule(
        "census",
        "year",
        "",
        {
            "population": ColumnRule(),
            "year": ColumnRule(),
            "person_id": ColumnRule(),
            "household_id": ColumnRule(),
            "education_level": ColumnRule(),
        },
    )
    return ReleaseRules(
        k=k,
        quasi_identifiers=["sex", "age_class", "education_level"],
        recoding_order=["age_class"],
        recode_above=recode_above,
        suppression_order=["education_level", "age_class", "sex"],
        longitudinal=longitudinal,
        max_rounds=30,
        hierarchies={"age": AGE},
        tables={"demobel": demobel, "census": census},
    )


BASE_SCHEMA = (
    "population int, year int, person_id long, household_id long, "
    "_raw_sex string, _raw_age_class int, _raw_education_level string"
)


def base_frame(spark, rows):
    return spark.createDataFrame(rows, BASE_SCHEMA)


def materialise(df):
    return df.localCheckpoint()


def long_risks(frame, rules):
    return {
        (r["population"], r["person_id"]): r["long_risk"]
        for r in longitudinal_frequencies(frame, rules.quasi_identifiers).collect()
    }


def year_risks(frame, rules):
    return {
        (r["population"], r["year"], r["person_id"]): r["risk"]
        for r in frequencies(frame, rules.quasi_identifiers).collect()
    }


def test_treatment_recodes_then_suppresses_until_no_small_cell(spark, repo):
    rows = [
        (2016, y, p, p, "M" if p % 2 else "F", 20 + 3 * p, "LMH"[p % 3])
        for p in range(10)
        for y in (2016, 2017)
    ]
    rules = tiny_rules(k=3)
    result = treat(base_frame(spark, rows), rules, repo / "conf", materialise)
    assert result.passed, result.reason
    assert result.levels["age_class"] >= 1  # recoded before suppressing
    scored = frequencies(result.frame, rules.quasi_identifiers)
    assert scored.filter(F.col("fk") < 3).count() == 0
    lf = longitudinal_frequencies(result.frame, rules.quasi_identifiers)
    assert lf.filter(F.col("long_fk") < 3).count() == 0
    assert result.frame.count() == len(rows)  # nobody dropped
    assert {r.phase for r in result.rounds} >= {"start", "recode", "final"}


def test_treatment_fails_when_a_group_is_smaller_than_k(spark, repo):
    rows = [(2016, 2016, p, p, "M", 30 + p, "L") for p in range(3)]
    result = treat(base_frame(spark, rows), tiny_rules(k=5), repo / "conf", materialise)
    assert not result.passed
    assert "smaller than k" in result.reason
    assert [r.phase for r in result.rounds] == ["start", "final"]


person = st.tuples(
    st.sampled_from(["M", "F", None]),
    st.integers(min_value=18, max_value=70),
    st.sampled_from(["L", "M", "H", None]),
    st.booleans(),  # present in the second year
    st.sampled_from(["L", "M", "H"]),  # education in the second year
)


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(person, min_size=2, max_size=9), st.sampled_from([2, 3]), st.booleans())
def test_treatment_never_increases_any_risk(spark, repo, people, k, longitudinal):
    rows = []
    for p, (sex, age, edu, second, edu2) in enumerate(people):
        rows.append((2016, 2016, p, p // 2, sex, age, edu))
        if second:
            rows.append((2016, 2017, p, p // 2, sex, age + 1, edu2))
    rules = tiny_rules(k=k, longitudinal=longitudinal, recode_above=0.3)
    base = base_frame(spark, rows)
    start = at_levels(base, rules, start_levels(rules), repo / "conf")
    result = treat(base, rules, repo / "conf", materialise)
    before, after = year_risks(start, rules), year_risks(result.frame, rules)
    assert before.keys() == after.keys()
    assert all(after[r] <= before[r] + 1e-12 for r in before)
    lb, la = long_risks(start, rules), long_risks(result.frame, rules)
    assert all(la[p] <= lb[p] + 1e-12 for p in lb)
    if result.passed:
        assert max(after.values()) <= 1 / k + 1e-12


def test_all_quasi_identifiers_missing_is_the_last_resort(spark, repo):
    # Two persons only, k = 2: every value must go, then both match each other.
    rows = [(2016, 2016, 1, 1, "M", 20, "L"), (2016, 2016, 2, 2, "F", 60, "H")]
    result = treat(
        base_frame(spark, rows), tiny_rules(k=2, recode_above=1.0), repo / "conf", materialise
    )
    assert result.passed
    values = [r[q] for r in result.frame.collect() for q in ("sex", "age_class", "education_level")]
    assert values == [None] * 6
    assert [r.phase for r in result.rounds].count("suppress") == 3


def test_longitudinal_suppression_takes_the_next_variable_each_small_person_still_has(spark):
    # k = 2. Persons 1 and 2 share a trajectory; 3 and 4 are alone in theirs; 5 has no key
    # left in any year, so matches everyone.
    treated = spark.createDataFrame(
        [
            (2016, 2016, 1, 1, "M", "20-24", "L"),
            (2016, 2017, 1, 1, "M", "20-24", "L"),
            (2016, 2016, 2, 2, "M", "20-24", "L"),
            (2016, 2017, 2, 2, "M", "20-24", "L"),
            (2016, 2016, 3, 3, "F", "20-24", "H"),
            (2016, 2017, 3, 3, "F", "20-24", None),
            (2016, 2016, 4, 4, "F", None, None),
            (2016, 2016, 5, 5, None, None, None),
        ],
        "population int, year int, person_id long, household_id long, "
        "sex string, age_class string, education_level string",
    )
    rules = tiny_rules(k=2)
    small = longitudinal_small(treated, rules)
    assert {tuple(r) for r in small.collect()} == {(2016, 3, "education_level"), (2016, 4, "sex")}
    out = suppress_longitudinal(treated, rules, small)
    assert sorted(out.collect()) == sorted(suppress_longitudinal(treated, rules).collect())
    got = {(r["person_id"], r["year"]): r for r in sorted(out.collect())}
    assert got[(3, 2016)]["education_level"] is None and got[(3, 2016)][CHANGED]
    assert got[(3, 2017)]["education_level"] is None and not got[(3, 2017)][CHANGED]
    assert got[(4, 2016)]["sex"] is None and got[(4, 2016)][CHANGED]
    unchanged = [r for key, r in got.items() if key[0] in (1, 2, 5)]
    assert len(unchanged) == 5 and not any(r[CHANGED] for r in unchanged)
    assert [r["education_level"] for r in unchanged if r["person_id"] != 5] == ["L"] * 4
