"""The release-validation helpers: the SCRA summary as tables (pure pandas, on the sample of
tests/data/scra_sample.json) and the recount of every scenario from released tables built
by hand, with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from pseudolink.release.verify import Release, person_frame, recheck, scra_tables

SAMPLE = Path(__file__).resolve().parent / "data" / "scra_sample.json"


def test_scra_tables_of_the_sample() -> None:
    scra = json.loads(SAMPLE.read_text(encoding="utf-8"))
    t = scra_tables(scra)
    scenarios = t["scenarios"].set_index(["scenario", "table", "side"])
    assert scenarios.loc[("demographics", "", "after"), "k_5"] == 26
    assert scenarios.loc[("demographics", "", "after"), "below_k"] == 26  # k = 5
    assert scenarios.loc[("events", "", "before"), "units"] == 1247
    assert scenarios.loc[("employer_provider", "vdab_activation", "before"), "k_2"] == 391
    assert len(t["scenarios"]) == 2 * 5
    assert t["levels"].set_index("key").loc["residence", "chosen_label"] == "province"
    assert t["lattice"]["chosen"].sum() == 1 and "age_class" in t["lattice"].columns
    assert t["keys"].set_index("key").loc["age_class", "suppressed"] == 565
    cats = t["categories"].set_index(["key", "value"])
    assert cats.loc[("residence", "ANT"), "change"] == 115
    assert t["transitions"].set_index("column").loc["residence", "kept"] == 0.5029
    assert list(t["household_risk"]["side"]) == ["before", "after"]
    panels = t["panels"].set_index(["table", "population"])
    assert panels.loc[("ksz", 2016), "unique"] == 19
    assert list(t["rounds"].columns[-3:]) == ["demographics", "events", "household"]


def test_scra_tables_of_an_empty_summary() -> None:
    t = scra_tables({})
    assert all(frame.empty for frame in t.values())
    assert {"scenario", "side", "k_2", "k_3", "k_5", "units"} <= set(t["scenarios"].columns)


# --- recheck ------------------------------------------------------------------------------

# Population 2016. p5 is followed from 2017 (a member who joined later); p3 has a 2017 row
# with another residence, which must not be used (the first year followed is 2016).
PERSONS = [  # person, first_year, last_year, moved_out, sex
    (1, 2016, 2024, "N", "M"),
    (2, 2016, 2019, "Y", "M"),
    (3, 2016, 2024, "N", "F"),
    (4, 2016, 2020, "N", "F"),
    (5, 2017, 2024, "N", "F"),
    (6, 2016, 2024, "N", "M"),
]
DEMOBEL = [  # year, person, household, residence
    (2016, 1, 1, "A"),
    (2016, 2, 2, "A"),
    (2016, 3, 1, "A"),
    (2017, 3, 1, "B"),
    (2016, 4, 3, None),  # suppressed: matches every residence
    (2017, 5, 3, "B"),
    (2016, 6, 4, "C"),
]
CENSUS = [  # year, person, household, household_size
    (2016, 1, 1, 2),
    (2016, 2, 2, 1),
    (2016, 3, 1, 2),
    (2016, 4, 3, 1),
    (2017, 5, 3, 2),
    (2016, 6, 4, 1),
]
MEMBERSHIP = [  # person, household, valid_to, end_reason
    (1, 1, 2024, None),
    (2, 2, 2019, "moved_out"),
    (3, 1, 2024, None),
    (4, 5, 2018, None),
    (4, 3, 2020, "left_household"),  # the last membership: its end reason counts
    (5, 3, 2024, None),
    (6, 4, 2024, None),
]
JOBS = ["A", "A", "B", None]

SCRA = {
    "k": 2,
    "scenarios": [
        {"name": "demo", "unit": "person", "keys": ["sex", "residence"], "k": 2,
         "below_k": {"after": {"2": 1}}},
        {"name": "events", "unit": "person", "keys": ["sex"], "event": True, "k": 2},
        {"name": "household", "unit": "household", "keys": ["household_size"],
         "member_keys": ["sex"], "k": 2},
        {"name": "employer", "unit": "row", "tables": {"jobs": ["sector"], "gone": ["x"]},
         "k": 2, "tables_below_k": {"jobs": {"after": {"2": 0}}}},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def release(spark) -> Release:
    persons = spark.createDataFrame(
        [(2016, *p) for p in PERSONS],
        "population int, person_id long, first_year int, last_year int, moved_out string, "
        "sex string",
    )
    demobel = spark.createDataFrame(
        [(2016, *r) for r in DEMOBEL],
        "population int, year int, person_id long, household_id long, residence string",
    )
    census = spark.createDataFrame(
        [(2016, *r) for r in CENSUS],
        "population int, year int, person_id long, household_id long, household_size string",
    )
    membership = spark.createDataFrame(
        [(2016, *r) for r in MEMBERSHIP],
        "population int, person_id long, household_id long, valid_to int, end_reason string",
    )
    jobs = spark.createDataFrame([(2016, s) for s in JOBS], "population int, sector string")
    tables = {
        "persons": persons,
        "demobel": demobel,
        "census": census,
        "household_membership": membership,
        "jobs": jobs,
    }
    return Release("memory", {}, tables)


def test_person_frame_takes_the_first_year_followed(release: Release) -> None:
    frame = person_frame(release, ["sex", "residence", "household_size"], event=True)
    rows = {r["person_id"]: r for r in frame.collect()}
    assert len(rows) == 6
    assert rows[3]["residence"] == "A" and rows[5]["residence"] == "B"
    assert rows[5]["ref_year"] == 2017 and rows[5]["household_id"] == 3
    assert {p: (r["_event"], r["_event_kind"]) for p, r in rows.items()} == {
        1: ("none", "none"),
        2: ("2019", "moved_out"),
        3: ("none", "none"),
        4: ("2020", "left_household"),
        5: ("none", "none"),
        6: ("none", "none"),
    }
    # moved_out missing: the kind was suppressed, and matches every kind of its year
    hidden = Release(
        "memory",
        {},
        {
            **release.tables,
            "persons": release.tables["persons"].withColumn(
                "moved_out", F.when(F.col("person_id") != 2, F.col("moved_out"))
            ),
        },
    )
    kinds = {
        r["person_id"]: r["_event_kind"] for r in person_frame(hidden, ["sex"], True).collect()
    }
    assert kinds[2] is None and kinds[4] == "left_household"


def test_recheck_counts_every_scenario(release: Release) -> None:
    checked = recheck(release, SCRA).set_index(["scenario", "table"])
    counts = ["units", "below_k", "below_2", "below_3", "below_5"]
    got = {key: [int(v) for v in row[counts]] for key, row in checked.iterrows()}
    assert got == {
        # (M,A) x2, (F,A) with p4, p4 (F,-) with p3 and p5, (F,B) with p4, (M,C) alone
        ("demo", ""): [6, 1, 1, 5, 6],
        # (M,none) x2, (F,none) x2, p2 and p4 alone with their event
        ("events", ""): [6, 2, 2, 6, 6],
        # households at the reference date: 2|F,M; 1|M (twice); 1|F. p5 joined later.
        ("household", ""): [4, 2, 2, 4, 4],
        # A with A and the missing one; B with the missing one; the missing one with all
        ("employer", "jobs"): [4, 0, 0, 1, 4],
    }
    assert checked.loc[("demo", ""), "scra_below_k"] == 1
    assert checked.loc[("employer", "jobs"), "scra_below_k"] == 0
    assert list(checked["k"]) == [2, 2, 2, 2]


def test_recheck_names_a_key_no_table_has(release: Release) -> None:
    from pseudolink.errors import InputError

    scra = {"scenarios": [{"name": "x", "unit": "person", "keys": ["shoe_size"], "k": 2}]}
    with pytest.raises(InputError, match="shoe_size"):
        recheck(release, scra)
