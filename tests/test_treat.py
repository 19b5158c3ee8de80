"""The treatment against the intruder model, on hand-built frames with known answers:
the lattice, local suppression by importance with ghosts, households, row scenarios, and
the masks that keep a suppressed value from coming back from another year or a member."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from pseudolink.errors import ConfigError
from pseudolink.release.build import EVENT, EVENT_KIND, event_key, hidden_moves
from pseudolink.release.rules import (
    ColumnRule,
    Hierarchy,
    KeyRule,
    Level,
    Recoding,
    ReleaseRules,
    Scenario,
    TableRule,
    load_rules,
)
from pseudolink.release.scra import frequencies
from pseudolink.release.treat import (
    Candidate,
    choose_levels,
    events_wide,
    follow_fixed,
    household_wide,
    masks,
    person_keys,
    rescore,
    score,
    suppress_cells,
    suppress_households,
    treat_persons,
    treat_rows,
)

AGE = Hierarchy(
    "bands", levels=[Level(width=5, lowest=0, top=80), Level(width=20, lowest=0, top=80)]
)
IDS = {c: ColumnRule() for c in ("population", "year", "person_id", "household_id")}


def rules_for(k=2, suppress_household=True, limit=0.0, scenarios=None):
    """persons: sex, age_class (from age_at_reference), place_of_birth, origin (ghost);
    demobel: residence, household_type, household_position (ghost), nationality."""
    persons = TableRule(
        "persons",
        "none",
        "",
        {
            "population": ColumnRule(),
            "person_id": ColumnRule(),
            "sex": ColumnRule(),
            "age_class": ColumnRule(source="age_at_reference", hierarchy="age"),
            "place_of_birth": ColumnRule(),
            "origin": ColumnRule(),
        },
    )
    demobel = TableRule(
        "demobel",
        "year",
        "",
        {
            **IDS,
            "residence": ColumnRule(),
            "household_type": ColumnRule(),
            "household_position": ColumnRule(),
            "nationality": ColumnRule(),
        },
    )
    census = TableRule("census", "year", "", dict(IDS))
    keys = {
        "sex": KeyRule("persons", importance=1),
        "age_class": KeyRule("persons", importance=2),
        "residence": KeyRule("demobel", importance=3),
        "household_type": KeyRule(
            "demobel",
            importance=4,
            household=True,
            suppress=suppress_household,
            ghosts=["demobel.household_position"],
        ),
        "nationality": KeyRule(
            "demobel", importance=5, ghosts=["persons.place_of_birth", "persons.origin"]
        ),
        "place_of_birth": KeyRule(
            "persons", importance=6, ghosts=["persons.origin", "demobel.nationality"]
        ),
    }
    person = ["sex", "age_class", "residence", "household_type", "nationality", "place_of_birth"]
    return ReleaseRules(
        k=k,
        keys=keys,
        scenarios=scenarios or {"demographics": Scenario("d", "person", keys=person)},
        recoding=Recoding(suppression_limit=limit, coarsest={"age_class": 1}),
        hierarchies={"age": AGE},
        tables={"persons": persons, "demobel": demobel, "census": census},
        max_rounds=20,
    )


REF = (
    "population int, person_id long, household_id long, ref_year int, sex string, "
    "age_at_reference int, place_of_birth string, origin string, residence string, "
    "household_type string, household_position string, nationality string"
)


def reference(spark, rows):
    """rows: (person, household, sex, age, place_of_birth, residence, household_type,
    nationality), population 2016, reference year 2016; origin and position derived."""
    full = [
        (2016, p, h, 2016, s, a, b, f"o{b}", r, t, f"pos{t}", n) for p, h, s, a, b, r, t, n in rows
    ]
    return spark.createDataFrame(full, REF)


def no_events(ref):
    return ref.select(
        "population", "person_id", F.lit("none").alias(EVENT), F.lit("none").alias(EVENT_KIND)
    )


def materialise(df):
    return df.localCheckpoint()


def keys_of(spark, rows, rules, levels=None):
    ref = reference(spark, rows)
    lv = levels or {q: 0 for q in rules.keys}
    return ref, person_keys(ref, no_events(ref), rules, "unused", lv)


def as_dict(df, cols):
    return {r["person_id"]: tuple(r[c] for c in cols) for r in df.collect()}


# --- local suppression --------------------------------------------------------------------


def test_the_least_important_key_that_reaches_k_is_suppressed(spark):
    # Person 9 is unique. Without residence (importance 3) it matches persons 1-3 (fk 4);
    # without sex (1) it matches 4-6 (fk 4); without age (2) nobody. Both first keys lift
    # it to k = 3: the least important, residence, goes; no other record is touched.
    rules = rules_for(k=3)
    rows = [(p, p, "M", 30, "FL", "A", "1", "BE") for p in (1, 2, 3)]
    rows += [(p, p, "F", 30, "FL", "B", "1", "BE") for p in (4, 5, 6)]
    rows += [(9, 9, "M", 30, "FL", "B", "1", "BE")]
    _, frame = keys_of(spark, rows, rules)
    keys = ["sex", "age_class", "residence"]
    cands = [Candidate(q, rules.keys[q].importance, (q,)) for q in keys]
    scored = frequencies(frame, keys, by=("population",)).drop("risk")
    out, _ = suppress_cells(scored, keys, cands, "fk", 3)
    got = as_dict(out, ["sex", "age_class", "residence", "_changed"])
    assert got[9] == ("M", "30-34", None, True)
    assert all(got[p][3] is False for p in range(1, 7))


def test_without_a_key_that_reaches_k_the_one_gaining_most_goes(spark):
    # Person 9 (F, 50, B): without sex it matches 1 (fk 2), without residence 2-3 (fk 3),
    # without age nobody; k = 5 is out of reach: residence gains most and goes.
    rules = rules_for(k=5)
    rows = [
        (1, 1, "M", 50, "FL", "B", "1", "BE"),
        (2, 2, "F", 50, "FL", "A", "1", "BE"),
        (3, 3, "F", 50, "FL", "C", "1", "BE"),
        (9, 9, "F", 50, "FL", "B", "1", "BE"),
    ]
    _, frame = keys_of(spark, rows, rules)
    keys = ["sex", "age_class", "residence"]
    cands = [Candidate(q, rules.keys[q].importance, (q,)) for q in keys]
    scored = frequencies(frame, keys, by=("population",)).drop("risk")
    out, _ = suppress_cells(scored, keys, cands, "fk", 5)
    assert as_dict(out, ["residence"])[9] == (None,)


def test_a_ghost_key_goes_with_its_key_and_households_share_their_type(spark):
    rules = rules_for(k=2)
    rows = [
        (1, 1, "M", 30, "EU", "A", "3", "EU"),  # unique: nationality and birth place go
        (2, 2, "M", 30, "FL", "A", "3", "BE"),
        (3, 2, "F", 30, "FL", "A", "3", "BE"),
    ]
    _, frame = keys_of(spark, rows, rules)
    scored = score(frame, rules)
    final, rounds, reason = treat_persons(scored.drop("_fk_demographics"), rules, materialise)
    got = as_dict(final, ["nationality", "place_of_birth"])
    assert reason == "" and rounds[-1].below_k == {"demographics": 0}
    if got[1][0] is None or got[1][1] is None:
        assert got[1] == (None, None)  # never one without the other
    # A household key missing for one member is missing for all of them at that date.
    frame2 = frame.withColumn(
        "household_type", F.when(F.col("person_id") == 3, None).otherwise(F.col("household_type"))
    )
    wide = as_dict(household_wide(frame2, rules), ["household_type"])
    assert wide == {1: ("3",), 2: (None,), 3: (None,)}


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(
            st.sampled_from("MF"),
            st.sampled_from([20, 30, 40]),
            st.sampled_from("AB"),
            st.sampled_from("12"),
        ),
        min_size=6,
        max_size=16,
    ),
    st.sampled_from([2, 3]),
)
def test_treatment_passes_and_never_lowers_anyones_frequency(spark, people, k):
    rules = rules_for(k=k)
    rows = [(i, i, s, a, "FL", r, t, "BE") for i, (s, a, r, t) in enumerate(people)]
    _, frame = keys_of(spark, rows, rules)
    before = as_dict(score(frame, rules), ["_fk_demographics"])
    final, rounds, reason = treat_persons(frame, rules, materialise)
    after = as_dict(score(final.drop("_fk_demographics"), rules), ["_fk_demographics"])
    assert all(after[p][0] >= before[p][0] for p in before)
    assert as_dict(final, ["_fk_demographics"]) == after  # exact, not the rounds' bounds
    # Started from the lattice's counts, with no scenario asked exact: the same treatment;
    # a count is exact below k and a lower bound at or above it.
    counted = score(frame, rules, households=False)
    bound, _, _ = treat_persons(frame, rules, materialise, counted=counted, exact=[])
    keys = ["sex", "age_class", "residence", "household_type", "nationality", "place_of_birth"]
    assert as_dict(bound, keys) == as_dict(final, keys)
    got = as_dict(bound, ["_fk_demographics"])
    assert all(got[p] == after[p] if got[p][0] < k else k <= got[p][0] <= after[p][0] for p in got)
    if not reason:
        assert min(v[0] for v in after.values()) >= k
    assert rounds[0].phase == "start"


def test_a_rescore_counts_the_persons_below_k_again_and_keeps_the_others(spark):
    rules = rules_for(k=3)
    people = {1: ("M", 30), 2: ("M", 30), 3: ("M", 30), 4: ("F", 30), 5: ("F", 30), 6: ("F", 60)}
    rows = [(p, p, sex, age, "FL", "A", "1", "BE") for p, (sex, age) in people.items()]
    _, frame = keys_of(spark, rows, rules)
    scored = score(frame, rules)
    got = as_dict(scored, ["_fk_demographics"])
    assert got == {1: (3,), 2: (3,), 3: (3,), 4: (2,), 5: (2,), 6: (1,)}
    # Person 6 loses sex and age and matches everyone: 4, 5 and 6 (below k) are counted
    # again; 1-3, at k, keep their count (3, a lower bound of the exact 4).
    suppressed = scored.withColumn(
        "sex", F.when(F.col("person_id") == 6, None).otherwise(F.col("sex"))
    ).withColumn("age_class", F.when(F.col("person_id") == 6, None).otherwise(F.col("age_class")))
    again = as_dict(rescore(suppressed, rules), ["_fk_demographics"])
    exact = as_dict(score(suppressed.drop("_fk_demographics"), rules), ["_fk_demographics"])
    assert exact == {1: (4,), 2: (4,), 3: (4,), 4: (3,), 5: (3,), 6: (6,)}
    assert again == {1: (3,), 2: (3,), 3: (3,), 4: (3,), 5: (3,), 6: (6,)}


def test_a_household_below_k_loses_the_key_that_lifts_it(spark):
    # Every household is unique. Households 1 (type 3) and 2 (type 2, the same members)
    # match each other without their types: they lose them. Household 3 (M 60, F 30)
    # matches no household without its type, but household 2 without its ages: its ages
    # go, its type stays (a type that lifts nothing is not spent).
    hh = Scenario("h", "household", keys=["household_type"], member_keys=["sex", "age_class"])
    rules = rules_for(k=2, scenarios={"household": hh})
    rows = [
        (1, 1, "M", 30, "FL", "A", "3", "BE"),
        (2, 1, "F", 30, "FL", "A", "3", "BE"),
        (3, 2, "M", 30, "FL", "A", "2", "BE"),
        (4, 2, "F", 30, "FL", "A", "2", "BE"),
        (5, 3, "M", 60, "FL", "A", "2", "BE"),
        (6, 3, "F", 30, "FL", "A", "2", "BE"),
    ]
    _, frame = keys_of(spark, rows, rules)
    final, rounds, reason = treat_persons(frame, rules, materialise)
    assert reason == "" and rounds[-1].below_k == {"household": 0}
    got = as_dict(final, ["household_type", "age_class"])
    assert got[1] == (None, "30-34") and got[2] == (None, "30-34")
    assert got[5] == ("2", None) and got[6] == ("2", None)
    assert got[3] == (None, "30-34") and got[4] == (None, "30-34")
    # In a round where a person scenario changed member 1 first, household 1's count is
    # stale: it is left alone until scored anew; household 2 is treated as before.
    scored = score(frame, rules).withColumn("_changed", F.col("person_id") == 1)
    marked = suppress_households(scored, hh, rules, "_fk_household", 2)
    got = as_dict(marked, ["household_type", "_changed"])
    assert got[1] == ("3", True) and got[2] == ("3", False)
    assert got[3] == (None, True) and got[4] == (None, True)


def test_a_scenario_that_cannot_pass_says_so(spark):
    rules = rules_for(k=3, suppress_household=False)
    rows = [(1, 1, "M", 30, "FL", "A", "9", "BE"), (2, 2, "M", 30, "FL", "A", "1", "BE")]
    _, frame = keys_of(spark, rows, rules)
    _, _, reason = treat_persons(frame, rules, materialise)
    assert "no key left" in reason


# --- global recoding ----------------------------------------------------------------------


def test_the_lattice_takes_the_least_loss_within_the_suppression_limit(spark):
    # Ages 30-39 and 60-69 in 5-year classes make cells of 2 (below k = 4); in 20-year
    # classes two cells of 4 are left: the only node within a limit of 0.
    rules = rules_for(k=4, limit=0.0)
    ages = [30, 35, 30, 35, 60, 65, 60, 65]
    rows = [(i, i, "M", a, "FL", "A", "1", "BE") for i, a in enumerate(ages)]
    ref = reference(spark, rows)
    levels, nodes = choose_levels(ref, no_events(ref), rules, "unused")
    assert levels["age_class"] == 1
    assert [n.chosen for n in nodes] == [False, True]
    assert nodes[0].loss == 0 and nodes[1].loss == 0.5  # 2 bits of entropy to 1
    # With a limit of 100 %, the finest node is enough.
    loose = rules_for(k=4, limit=1.0)
    assert choose_levels(ref, no_events(ref), loose, "unused")[0]["age_class"] == 0
    # Asked to, it keeps the chosen node's counts (the treatment starts from them).
    kept: dict = {}
    choose_levels(ref, no_events(ref), rules, "unused", materialise=materialise, kept=kept)
    chosen = person_keys(ref, no_events(ref), rules, "unused", {**levels})
    assert as_dict(kept["scored"], ["age_class", "_fk_demographics"]) == as_dict(
        score(chosen, rules, households=False), ["age_class", "_fk_demographics"]
    )


def test_when_even_the_coarsest_node_exceeds_the_limit_it_is_taken_without_the_others(spark):
    # A woman is unique at every level: no node is within a limit of 0. The coarsest leaves
    # the fewest (1) and is taken; the finer node (it would leave 9) is never evaluated.
    rules = rules_for(k=4, limit=0.0)
    ages = [30, 35, 30, 35, 60, 65, 60, 65]
    rows = [(i, i, "M", a, "FL", "A", "1", "BE") for i, a in enumerate(ages)]
    ref = reference(spark, [*rows, (9, 9, "F", 30, "FL", "A", "1", "BE")])
    logged: list[str] = []
    levels, nodes = choose_levels(ref, no_events(ref), rules, "unused", logged.append)
    assert levels["age_class"] == 1 and len(logged) == 1
    assert [(n.persons_below_k, n.chosen) for n in nodes] == [(None, False), (1, True)]


# --- masks: a suppressed value does not come back ------------------------------------------


YEARLY = (
    "population int, year int, person_id long, household_id long, residence string, "
    "household_type string, household_position string, nationality string"
)


def test_masks_hide_the_value_in_every_year_it_held_and_in_the_household(spark):
    rules = rules_for(k=2)
    rows = [(1, 10, "M", 30, "EU", "A", "3", "EU"), (2, 10, "F", 30, "FL", "A", "3", "BE")]
    ref, recoded = keys_of(spark, rows, rules)
    final = recoded.withColumn(
        "residence", F.when(F.col("person_id") == 1, None).otherwise(F.col("residence"))
    ).withColumn(
        "household_type", F.when(F.col("person_id") == 1, None).otherwise(F.col("household_type"))
    )
    final = final.withColumn(
        "nationality", F.when(F.col("person_id") == 1, None).otherwise(F.col("nationality"))
    )
    yearly = spark.createDataFrame(
        [
            (2016, 2016, 1, 10, "A", "3", "pos3", "EU"),
            (2016, 2017, 1, 10, "A", "3", "pos3", "EU"),  # same residence: hidden too
            (2016, 2018, 1, 11, "B", "1", "pos1", "BE"),  # moved, another type: kept
            (2016, 2016, 2, 10, "A", "3", "pos3", "BE"),  # household member: type hidden
            (2016, 2019, 2, 12, "A", "3", "pos3", "BE"),
        ],
        YEARLY,
    )
    person_mask, yearly_mask = masks(recoded, final, yearly, ref, rules, "unused", {})
    people = {r["person_id"]: r.asDict() for r in person_mask.collect()}
    assert people[1]["_null_place_of_birth"] and people[1]["_null_origin"]  # ghosts
    assert not people[2]["_null_place_of_birth"]
    got = {
        (r["person_id"], r["year"]): (
            r["_null_residence"],
            r["_null_household_type"],
            r["_null_household_position"],
            r["_null_nationality"],
        )
        for r in yearly_mask.collect()
    }
    assert got[(1, 2016)] == (True, True, True, True)
    assert got[(1, 2017)] == (True, True, True, True)
    # moved, another type: the residence and type are shown, their ghost (the position,
    # which gave a suppressed type back from another year) is not
    assert got[(1, 2018)] == (False, False, True, False)
    assert got[(2, 2016)] == (False, True, True, False)  # the household's type, not hers
    assert (2, 2019) not in got


def test_events_name_the_year_and_kind_of_the_end(spark, repo):
    rules = load_rules(repo / "conf")
    persons = spark.createDataFrame(
        [
            (2016, 1, 2019, "Y", None),
            (2016, 2, 2020, "N", "left_household"),
            (2016, 3, 2021, "N", None),
            (2016, 4, 2024, "N", None),
        ],
        "population int, person_id long, last_year int, moved_out string, _end_reason string",
    )
    got = {
        r["person_id"]: (r[EVENT], r[EVENT_KIND])
        for r in event_key(persons, rules, repo / "conf", 2024).collect()
    }
    assert got == {
        1: ("2019", "moved_out"),
        2: ("2020", "left_household"),
        3: ("2021", "ended"),
        4: ("none", "none"),
    }


def test_the_kind_of_an_end_is_suppressed_with_the_household_and_its_moves(spark):
    # Persons 8 and 9 (one household) are the only ones who moved out in 2019; 1-5 ended
    # that year; 7 (their household) and 10-13 are followed on. At k = 5, with the kind the
    # least important key, the kinds of 8 and 9 go (not their sex or age); 7 keeps "none".
    keys = {"sex": KeyRule("persons", importance=1), "age_class": KeyRule("persons", 2)}
    sc = Scenario("e", "person", keys=["sex", "age_class"], event=True, event_importance=9)
    rules = rules_for(k=5, scenarios={"events": sc})
    rules = ReleaseRules(**{**rules.__dict__, "keys": keys})
    alone = [(p, 100 + p, "M", 30, "FL", "A", "1", "BE") for p in (1, 2, 3, 4, 5, 10, 11, 12, 13)]
    ref = reference(spark, alone + [(p, 50, "M", 30, "FL", "A", "1", "BE") for p in (7, 8, 9)])
    kinds = {p: ("2019", "ended") for p in (1, 2, 3, 4, 5)}
    kinds |= {p: ("none", "none") for p in (7, 10, 11, 12, 13)}
    kinds |= {8: ("2019", "moved_out"), 9: ("2019", "moved_out")}
    events = spark.createDataFrame(
        [(2016, p, y, k) for p, (y, k) in kinds.items()],
        f"population int, person_id long, {EVENT} string, {EVENT_KIND} string",
    )
    recoded = person_keys(ref, events, rules, "unused", {"age_class": 0})
    final, rounds, reason = treat_persons(recoded, rules, materialise)
    got = as_dict(final, ["sex", "age_class", EVENT_KIND])
    assert reason == "" and rounds[-1].below_k == {"events": 0}
    assert got[9] == ("M", "30-34", None) and got[8] == ("M", "30-34", None)
    assert got[7] == ("M", "30-34", "none") and got[1] == ("M", "30-34", "ended")
    # One member's kind gone: gone for every member whose follow-up ended that year.
    one = recoded.withColumn(
        EVENT_KIND, F.when(F.col("person_id") == 9, None).otherwise(F.col(EVENT_KIND))
    )
    wide = as_dict(events_wide(one), [EVENT_KIND])
    assert wide[8] == (None,) and wide[7] == ("none",) and wide[1] == ("ended",)
    # The release: moved_out and the end reasons go, and so do their moves and those of
    # anyone who moved with them (same household and year).
    no_years = ref.limit(0).select("population", "ref_year", "person_id", "household_id")
    person_mask, _ = masks(
        recoded, final, no_years.withColumnRenamed("ref_year", "year"), ref, rules, "unused", {}
    )
    rows = person_mask.collect()
    assert {r["person_id"] for r in rows if r["_null_moved_out"]} == {8, 9}
    assert all(r["_null_end_reason"] == r["_null_moved_out"] for r in rows)
    moves = spark.createDataFrame(
        [(2016, 9, 50, 2019), (2016, 6, 50, 2019), (2016, 5, 60, 2019), (2016, 4, 50, 2017)],
        "population int, person_id long, household_id long, move_year int",
    )
    assert {r["person_id"] for r in hidden_moves(moves, person_mask).collect()} == {4, 5}


def test_a_fixed_value_goes_with_the_key_that_gives_it(spark):
    # Education U (not applicable) is every child's: it gives the age class back, so it is
    # missing wherever the age class is; another education, or U with the age, stays.
    rules = ReleaseRules(
        keys={
            "age_class": KeyRule("persons", importance=2),
            "education_level": KeyRule("census", importance=8, fixed={"U": "age_class"}),
        }
    )
    frame = spark.createDataFrame(
        [(1, None, "U"), (2, "0-4", "U"), (3, None, "L"), (4, None, None)],
        "person_id long, age_class string, education_level string",
    )
    got = as_dict(follow_fixed(frame, rules), ["education_level"])
    assert got == {1: (None,), 2: ("U",), 3: ("L",), 4: (None,)}


# --- row scenarios ------------------------------------------------------------------------


def test_rows_below_k_lose_their_least_important_column(spark):
    df = spark.createDataFrame(
        [
            (2016, "2019Q1", "S1", "ANT"),
            (2016, "2019Q1", "S1", "ANT"),
            (2016, "2019Q1", "S2", "LIM"),
        ],
        "population int, start_quarter string, sector string, workplace_province string",
    )
    cols = ["start_quarter", "sector", "workplace_province"]
    treated = treat_rows(df, cols, 2, materialise, 10)
    out, history = treated.table, treated.history
    assert treated.reason == "" and history[0] == 1 and history[-1] == 0
    # Its first and last scores, for the report: one row below 2 before, none after.
    assert sorted(r["fk"] for r in treated.first.collect()) == [1, 2, 2]
    assert treated.last is not None and min(r["fk"] for r in treated.last.collect()) >= 2
    # The unique row needs two values gone (either alone leaves it unique): the least
    # important first, the province, then the sector.
    rows = sorted((r["sector"] or "", r["workplace_province"] or "") for r in out.collect())
    assert rows == [("", ""), ("S1", "ANT"), ("S1", "ANT")]


# --- the rules ----------------------------------------------------------------------------


def test_rules_refuse_a_broken_model_or_hierarchy(tmp_path, repo):
    text = (repo / "conf" / "release.yaml").read_text()
    (tmp_path / "codes").symlink_to(repo / "conf" / "codes")
    cases = [
        (
            text.replace("- {width: 10, lowest: 15, top: 75}", "- {width: 7, lowest: 15, top: 71}"),
            r"hierarchies.age.*merge whole classes",
        ),
        (text.replace("education_level]\n", "education_levle]\n", 1), "education_levle"),
        (
            text.replace("demobel.household_position", "demobel.household_positoin"),
            "household_positoin",
        ),
        (text.replace("    age_class: 1       #", "    age_class: 7       #"), "beyond"),
    ]
    for bad, message in cases:
        assert bad != text, message
        (tmp_path / "release.yaml").write_text(bad)
        with pytest.raises(ConfigError, match=message):
            load_rules(tmp_path)
