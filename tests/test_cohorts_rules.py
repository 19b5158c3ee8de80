"""Hand-built cases for every population rule (chispa), on the pure transformations.

All cases use their own persons and households, so they run through the transformations
together, once; each test checks the rows of its own case.
"""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from pseudolink.cohorts.followup import with_follow_up
from pseudolink.cohorts.selection import filter_index_persons, presence
from pseudolink.cohorts.windows import moves, observation_windows
from pseudolink.config import CohortSettings

FL, WA, BR = "11001", "25001", "21001"
S = CohortSettings()
DEMOBEL = (
    "insz string, household_id string, year int, municipality string, birth_date date, age int,"
    " household_type string, household_position string"
)
CENSUS = "insz string, year int, labour_market_situation string"
EVENTS = (
    "insz string, household_id string, event_date date, event string, "
    "destination string, municipality string"
)
MEMBERSHIP = (
    "insz string, population int, role string, household_id string, valid_from int, "
    "valid_to int, end_reason string"
)
DEMOBEL_ROWS: list[tuple] = []
CENSUS_ROWS: list[tuple] = []
EVENT_ROWS: list[tuple] = []


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def live(insz, hid, first, last, muni=FL, born="1980-06-15", jobless=True, collective=False):
    """``insz`` lives in ``hid`` on 1 January of first..last (CENSUS: jobless or working);
    ``collective``: a collective household (type 6, position 11)."""
    birth = d(born)
    kind = ("6", "11") if collective else ("1", "08")
    for y in range(first, last + 1):
        DEMOBEL_ROWS.append((insz, hid, y, muni, birth, y - birth.year - 1, *kind))
        CENSUS_ROWS.append((insz, y, "2" if jobless else "1"))


def event(insz, hid, when, kind, destination=None, muni=None):
    EVENT_ROWS.append((insz, hid, d(when), kind, destination, muni))


# Ages exactly 18 and 64 on the reference date (a birthday on the day counts), 17 and 65.
for _insz, _born in {
    "A18": "1998-01-01",
    "A64": "1951-01-02",
    "A17": "1998-01-02",
    "A65": "1951-01-01",
}.items():
    live(_insz, "H" + _insz, 2016, 2024, born=_born)
# Unknown birth date: the reported age decides.
DEMOBEL_ROWS += [("U64", "HU64", 2016, FL, None, 64), ("U65", "HU65", 2016, FL, None, 65)]
CENSUS_ROWS += [("U64", 2016, "2"), ("U65", 2016, "2")]
# W works on 1 January 2016 although jobless the day before; J the other way round.
DEMOBEL_ROWS += [
    ("W", "HW", 2016, FL, d("1980-01-01"), 36),
    ("J", "HJ", 2016, FL, d("1980-01-01"), 36),
]
CENSUS_ROWS += [("W", 2015, "2"), ("W", 2016, "1"), ("J", 2015, "1"), ("J", 2016, "7")]
# Retired, student, another region, no CENSUS row: never index persons.
for _insz, _code in (("R1", "4"), ("R2", "3"), ("R3", "2"), ("R4", None)):
    DEMOBEL_ROWS.append(
        (_insz, "H" + _insz, 2016, WA if _insz == "R3" else FL, d("1980-01-01"), 36)
    )
    if _code:
        CENSUS_ROWS.append((_insz, 2016, _code))
# A member who leaves (L) and one who leaves and comes back (R).
live("I1", "H1", 2016, 2024, born="1990-06-15")
live("L", "H1", 2016, 2018, born="2000-03-03", jobless=False)
live("L", "H2", 2019, 2024, born="2000-03-03", jobless=False)
live("R", "H1", 2016, 2019, born="1995-03-03", jobless=False)
live("R", "H3", 2020, 2020, born="1995-03-03", jobless=False)
live("R", "H1", 2021, 2024, born="1995-03-03", jobless=False)
event("L", "H2", "2018-05-01", "MOVE", "FL", FL)
event("R", "H3", "2019-05-01", "MOVE", "FL", FL)
event("R", "H1", "2020-05-01", "MOVE", "FL", FL)
# A newborn joins from its first year in the household.
live("I2", "H4", 2016, 2024, born="1985-06-15")
live("B", "H4", 2018, 2024, born="2017-04-10", jobless=False)
event("B", "H4", "2017-04-10", "BIRTH", None, FL)
# A move abroad and back.
live("A", "H5", 2016, 2018)
live("A", "H6", 2020, 2024)
event("A", "H5", "2018-07-01", "EMIGRATION", "ABROAD")
event("A", "H6", "2019-09-01", "IMMIGRATION", None, FL)
# A household that moves to another region; a member who dies.
live("I3", "H7", 2016, 2019)
live("I3", "H7", 2020, 2021, muni=WA)
live("M", "H7", 2016, 2017, born="1950-06-15", jobless=False)
event("I3", "H7", "2019-08-01", "MOVE", "WA", WA)
event("M", "H7", "2017-03-01", "DEATH")
# A person in two populations (working in 2017-2019).
live("T", "H8", 2016, 2024)
CENSUS_ROWS[:] = [
    (i, y, "1" if i == "T" and y in (2017, 2018, 2019) else c) for i, y, c in CENSUS_ROWS
]
# A household whose reference person dies: the household id and the members go on.
live("I4", "H9", 2016, 2024)
live("P", "H9", 2016, 2017, born="1940-01-05", jobless=False)
live("C", "H9", 2016, 2024, born="2005-01-05", jobless=False)
event("P", "H9", "2017-06-01", "DEATH")
# Endings in the last year come from the year's events.
live("I5", "H10", 2016, 2024)
live("E", "H10", 2016, 2024, born="2000-01-05", jobless=False)
event("E", "H11", "2024-03-01", "MOVE", "FL", FL)
event("I5", "H10", "2024-10-01", "MOVE", "BR", BR)
# A person who goes from one index person's household to another's is listed once, with
# the first household, and followed as long as they live with a followed index person.
live("I6", "H12", 2016, 2024)
live("I7", "H13", 2016, 2024)
live("X", "H13", 2016, 2016, born="1999-02-02", jobless=False)
live("X", "H12", 2017, 2024, born="1999-02-02", jobless=False)
event("X", "H12", "2016-09-01", "MOVE", "FL", FL)
# Footnote 3 follows the index person's household ("diens gezin"). IK moves within the
# region into NK's household in April 2019: MK stays behind and is no longer followed;
# NK is a joiner from 2020, PJ, who moves in later, from 2022.
live("IK", "H20", 2016, 2019)
live("IK", "H21", 2020, 2024)
live("MK", "H20", 2016, 2024, born="1970-03-03", jobless=False)
live("NK", "H21", 2016, 2024, born="1975-03-03", jobless=False)
live("PJ", "H23", 2016, 2021, born="1985-03-03", jobless=False)
live("PJ", "H21", 2022, 2024, born="1985-03-03", jobless=False)
event("IK", "H21", "2019-04-10", "MOVE", "FL", FL)
event("PJ", "H21", "2021-06-01", "MOVE", "FL", FL)
# The index person dies in August 2018: the member stays, no longer followed.
live("ID", "H22", 2016, 2018)
live("MD", "H22", 2016, 2024, born="1970-03-03", jobless=False)
event("ID", "H22", "2018-08-20", "DEATH")
# Collective households: an index person in one is followed, the co-residents are not;
# an index person who moves into one (February 2019) is followed alone from then on.
live("IC", "HC1", 2016, 2024, collective=True)
live("CC", "HC1", 2016, 2024, born="1940-03-03", jobless=False, collective=True)
live("IM", "H24", 2016, 2019)
live("IM", "HC2", 2020, 2024, collective=True)
live("MM", "H24", 2016, 2024, born="1950-03-03", jobless=False)
live("CO", "HC2", 2016, 2024, born="1940-03-03", jobless=False, collective=True)
event("IM", "HC2", "2019-02-01", "MOVE", "FL", FL)


@pytest.fixture(scope="module")
def result(spark):
    munis = spark.createDataFrame(
        [(FL, "FL"), (WA, "WA"), (BR, "BR")], "code string, region string"
    )
    demobel = [r if len(r) == 8 else (*r, "1", "08") for r in DEMOBEL_ROWS]
    present = presence(spark.createDataFrame(demobel, DEMOBEL), munis)
    index = filter_index_persons(present, spark.createDataFrame(CENSUS_ROWS, CENSUS), S)
    out = with_follow_up(index, present, spark.createDataFrame(EVENT_ROWS, EVENTS), S).cache()
    out.count()
    yield out
    out.unpersist()


def check(spark, result, persons, population, rows):
    actual = result.filter(F.col("insz").isin(persons) & (F.col("population") == population)).drop(
        "end_quarter"
    )
    expected = spark.createDataFrame(rows, MEMBERSHIP)
    assert_df_equality(
        actual, expected, ignore_row_order=True, ignore_nullable=True, ignore_column_order=True
    )


def test_ages_18_and_64_on_the_reference_date_are_in_17_and_65_are_not(spark, result):
    check(
        spark,
        result,
        ["A18", "A64", "A17", "A65"],
        2016,
        [
            ("A18", 2016, "index", "HA18", 2016, 2024, None),
            ("A64", 2016, "index", "HA64", 2016, 2024, None),
        ],
    )


def test_unknown_birth_date_uses_the_reported_age(spark, result):
    check(
        spark,
        result,
        ["U64", "U65"],
        2016,
        [("U64", 2016, "index", "HU64", 2016, 2016, "moved_unknown")],
    )


def test_situation_on_the_reference_date_decides_not_the_day_before(spark, result):
    check(
        spark, result, ["W", "J"], 2016, [("J", 2016, "index", "HJ", 2016, 2016, "moved_unknown")]
    )


def test_retired_students_other_regions_and_missing_census_are_not_index(spark, result):
    assert result.filter(F.col("insz").isin("R1", "R2", "R3", "R4")).count() == 0


def test_member_who_leaves_and_member_who_returns(spark, result):
    check(
        spark,
        result,
        ["I1", "L", "R"],
        2016,
        [
            ("I1", 2016, "index", "H1", 2016, 2024, None),
            ("L", 2016, "member", "H1", 2016, 2018, "left_household"),
            ("R", 2016, "member", "H1", 2016, 2019, "left_household"),
        ],
    )


def test_newborn_joins_from_its_first_year(spark, result):
    check(
        spark,
        result,
        ["I2", "B"],
        2016,
        [
            ("I2", 2016, "index", "H4", 2016, 2024, None),
            ("B", 2016, "member", "H4", 2018, 2024, None),
        ],
    )


def test_move_abroad_and_back_ends_the_follow_up(spark, result):
    check(spark, result, ["A"], 2016, [("A", 2016, "index", "H5", 2016, 2018, "moved_abroad")])
    # Back in 2020, A is an index person of the 2022 population: a new membership.
    check(spark, result, ["A"], 2022, [("A", 2022, "index", "H6", 2022, 2024, None)])
    moved = moves(result.filter("insz = 'A'")).collect()
    assert [(r["population"], r["move_year"], r["destination"]) for r in moved] == [
        (2016, 2018, "abroad")
    ]


def test_household_moving_to_another_region_and_death(spark, result):
    check(
        spark,
        result,
        ["I3", "M"],
        2016,
        [
            ("I3", 2016, "index", "H7", 2016, 2019, "moved_other_region"),
            ("M", 2016, "member", "H7", 2016, 2017, "died"),
        ],
    )


def test_person_in_two_populations(spark, result):
    rows = result.filter("insz = 'T'").select("population", "role").collect()
    assert sorted((r["population"], r["role"]) for r in rows) == [(2016, "index"), (2022, "index")]


def test_household_whose_reference_person_changes_is_still_followed(spark, result):
    check(
        spark,
        result,
        ["I4", "P", "C"],
        2016,
        [
            ("I4", 2016, "index", "H9", 2016, 2024, None),
            ("P", 2016, "member", "H9", 2016, 2017, "died"),
            ("C", 2016, "member", "H9", 2016, 2024, None),
        ],
    )


def test_last_year_endings_come_from_events(spark, result):
    check(
        spark,
        result,
        ["I5", "E"],
        2016,
        [
            ("I5", 2016, "index", "H10", 2016, 2024, "moved_other_region"),
            ("E", 2016, "member", "H10", 2016, 2024, "left_household"),
        ],
    )


def test_member_of_two_index_households_is_listed_once(spark, result):
    check(spark, result, ["X"], 2016, [("X", 2016, "member", "H13", 2016, 2024, None)])


def end_quarters(result, persons, population=2016):
    rows = result.filter(F.col("insz").isin(persons) & (F.col("population") == population))
    return {r["insz"]: r["end_quarter"] for r in rows.collect()}


def test_index_person_moving_within_the_region_leaves_the_members_and_gets_joiners(spark, result):
    check(
        spark,
        result,
        ["IK", "MK", "NK", "PJ"],
        2016,
        [
            ("IK", 2016, "index", "H20", 2016, 2024, None),
            ("MK", 2016, "member", "H20", 2016, 2019, "left_household"),
            ("NK", 2016, "member", "H21", 2020, 2024, None),
            ("PJ", 2016, "member", "H21", 2022, 2024, None),
        ],
    )
    # MK's follow-up ends with IK's move, in 2019Q2.
    assert end_quarters(result, ["IK", "MK", "NK", "PJ"]) == {
        "IK": None,
        "MK": "2019Q2",
        "NK": None,
        "PJ": None,
    }


def test_member_is_no_longer_followed_when_the_index_person_dies(spark, result):
    check(
        spark,
        result,
        ["ID", "MD"],
        2016,
        [
            ("ID", 2016, "index", "H22", 2016, 2018, "died"),
            ("MD", 2016, "member", "H22", 2016, 2018, "left_household"),
        ],
    )
    assert end_quarters(result, ["ID", "MD"]) == {"ID": "2018Q3", "MD": "2018Q3"}


def test_collective_household_co_residents_are_not_members(spark, result):
    check(
        spark,
        result,
        ["IC", "CC", "IM", "MM", "CO"],
        2016,
        [
            ("IC", 2016, "index", "HC1", 2016, 2024, None),
            ("IM", 2016, "index", "H24", 2016, 2024, None),
            ("MM", 2016, "member", "H24", 2016, 2019, "left_household"),
        ],
    )
    assert end_quarters(result, ["MM"]) == {"MM": "2019Q1"}


def test_quarterly_window_ends_at_the_quarter_of_the_ending_event(spark, result):
    persons = ["ID", "MD", "MK", "IK", "L", "I3", "A"]
    windows = observation_windows(result.filter(F.col("insz").isin(persons)), S)
    got = {r["insz"]: r["quarterly_to"] for r in windows.filter("population = 2016").collect()}
    assert got == {
        "ID": "2018Q3",  # died 2018-08-20
        "MD": "2018Q3",  # the index person died
        "MK": "2019Q2",  # the index person moved out on 2019-04-10
        "IK": "2024Q4",  # followed to the end
        "L": "2018Q2",  # moved into another household on 2018-05-01
        "I3": "2019Q3",  # moved to another region on 2019-08-01
        "A": "2018Q3",  # emigrated on 2018-07-01
    }


def test_windows_follow_the_population_and_the_joiners(spark):
    membership = spark.createDataFrame(
        [
            ("I", 2016, "index", "H1", 2016, 2024, None),
            ("B", 2019, "member", "H1", 2020, 2023, "died"),
        ],
        MEMBERSHIP,
    )
    rows = {r["insz"]: r for r in observation_windows(membership, S).collect()}
    assert (
        rows["I"]["quarterly_from"],
        rows["I"]["quarterly_to"],
        rows["I"]["retrospective_from"],
        rows["I"]["activation_start_from"],
    ) == ("2016Q1", "2024Q4", "2013Q1", "2013-01")
    assert (
        rows["B"]["quarterly_from"],
        rows["B"]["quarterly_to"],
        rows["B"]["retrospective_from"],
        rows["B"]["activation_start_from"],
    ) == ("2020Q1", "2023Q4", "2020Q1", None)
