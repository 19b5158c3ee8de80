"""The research starter's building blocks, on hand-built release-like frames."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import functions as F

from pseudolink import session
from pseudolink.outputcheck import OutputRules, check_output
from pseudolink.research.activation import NO_WORK, SUSTAINED, WORK, activation_outcomes
from pseudolink.research.positions import position_group, quarter_label, transitions
from pseudolink.research.shares import outcome_shares, row_shares

KSZ = (
    "population int, quarter string, person_id long, socio_economic_position string, "
    "ocmw_support string"
)


def test_position_groups_take_the_longest_prefix(spark):
    codes = ["111", "219", "321", "331", "341", "351", "361", "311", "400", None]
    df = spark.createDataFrame([(c,) for c in codes], "code string")
    got = [r[0] for r in df.select(position_group(F.col("code"))).collect()]
    assert got == [
        "working",
        "job seeking",
        "social assistance",
        "retired",
        "retired",
        "student",
        "sick or disabled",
        "other inactive",
        "unknown",
        None,
    ]


def test_transitions_pair_consecutive_quarters_only(spark):
    ksz = spark.createDataFrame(
        [
            (2016, "2016Q3", 1, "112", "0"),
            (2016, "2016Q4", 1, "111", "0"),
            (2016, "2017Q1", 1, "211", "0"),
            (2016, "2017Q3", 1, "111", "0"),  # 2017Q2 is missing: no pair across it
            (2019, "2017Q1", 1, "321", "1"),  # another population: its own pairs
            (2019, "2017Q2", 1, "321", "1"),
        ],
        KSZ,
    )
    out = transitions(ksz).orderBy("population", "from_position", "to_position").collect()
    assert [(r.population, r.from_position, r.to_position, r.transitions) for r in out] == [
        (2016, "working", "job seeking", 1),
        (2016, "working", "working", 1),
        (2019, "social assistance", "social assistance", 1),
    ]
    assert {r.person_id for r in out} == {1}


def test_quarter_labels_round_trip(spark):
    df = spark.createDataFrame([(2019 * 4 + 2,)], "q int")
    assert df.select(quarter_label(F.col("q"))).first()[0] == "2019Q3"


def test_work_after_an_activation_action(spark):
    # p1 (2016): action from 2017-02 (2017Q1); working 2017Q2..2019Q4: at +4 (2018Q1) the
    #   4 quarters +1..+4 all worked: sustained; at +8 (2019Q1) +5..+8 too. Integration
    #   income (1) in 2016Q2, three quarters before the start: assisted; poverty risk 2017: Y.
    # p2 (2016): from 2016-05 (2016Q2); working only at +4 (2017Q2): work; not at +8
    #   (2018Q2): no work. OCMW support only in 2016Q3, after the start: not assisted;
    #   poverty risk 2016: N.
    # p3 (2022): from 2024-01: +4 is 2025Q1, after the data: unknown at both horizons.
    # p4 (2019): its only action started in 2018, before the reference date: left out.
    activation = spark.createDataFrame(
        [
            (2016, 2017, 1, "2017-02"),
            (2016, 2019, 1, "2019-06"),  # a later action of p1: the first one counts
            (2016, 2016, 2, "2016-05"),
            (2022, 2024, 3, "2024-01"),
            (2019, 2018, 4, "2018-03"),
        ],
        "population int, year int, person_id long, start_month string",
    )
    quarters = [f"{y}Q{q}" for y in range(2016, 2025) for q in range(1, 5)]
    rows = []
    for q in quarters:
        p1_working = "2017Q2" <= q <= "2019Q4"
        rows.append((2016, q, 1, "111" if p1_working else "211", "1" if q == "2016Q2" else "0"))
        rows.append((2016, q, 2, "111" if q == "2017Q2" else "219", "3" if q == "2016Q3" else "0"))
        if q >= "2024Q1":
            rows.append((2022, q, 3, "211", None))
        rows.append((2019, q, 4, "111", "0"))
    ksz = spark.createDataFrame(rows, KSZ)
    adi = spark.createDataFrame(
        [(2016, 2017, 1, "Y"), (2016, 2016, 2, "N"), (2016, 2016, 1, "N")],
        "population int, year int, person_id long, poverty_risk string",
    )
    out = activation_outcomes(activation, ksz, adi).orderBy("person_id").collect()
    got = [
        (
            r.person_id,
            r.start_quarter,
            r.poverty_risk,
            r.social_assistance,
            r.outcome_4,
            r.outcome_8,
        )
        for r in out
    ]
    assert got == [
        (1, "2017Q1", "Y", "Y", SUSTAINED, SUSTAINED),
        (2, "2016Q2", "N", "N", WORK, NO_WORK),
        (3, "2024Q1", None, None, None, None),
    ]


def test_shares_come_from_published_cells_only():
    # Row Y: 30 persons, 12 sustained, 3 work (fails), 15 no work; row N: 40, 20, 10, 10.
    table = pd.DataFrame(
        [
            ("Y", SUSTAINED, 12),
            ("Y", WORK, 3),
            ("Y", NO_WORK, 15),
            ("N", SUSTAINED, 20),
            ("N", WORK, 10),
            ("N", NO_WORK, 10),
        ],
        columns=["poverty_risk", "outcome", "n"],
    )
    checked = check_output(table, ["poverty_risk", "outcome"], count="n", rules=OutputRules())
    shares = outcome_shares(checked, {"in work": [SUSTAINED, WORK], "sustained": [SUSTAINED]})
    shares = shares.set_index("poverty_risk")
    # (Y, work) = 3 fails; the cheapest rectangle through it is {Y, N} x {work, no work}
    # (15 + 10 + 10), so the shares in work of Y and N need a suppressed cell; the shares in
    # sustained work and the totals' shares do not.
    assert shares.loc["Y", "persons"] == 30 and shares.loc["N", "persons"] == 40
    assert pd.isna(shares.loc["Y", "in work"]) and pd.isna(shares.loc["N", "in work"])
    assert shares.loc["Y", "sustained"] == 0.4 and shares.loc["N", "sustained"] == 0.5
    assert shares.loc["Total", "in work"] == round(45 / 70, 4)
    assert shares.loc["Total", "sustained"] == round(32 / 70, 4)
    matrix = row_shares(checked.wide())
    assert list(matrix.columns) == [NO_WORK, SUSTAINED, WORK]
    assert matrix.loc["Y", SUSTAINED] == 0.4 and pd.isna(matrix.loc["Y", WORK])
    assert pd.isna(matrix.loc["N", NO_WORK]) and matrix.loc["N", SUSTAINED] == 0.5


def test_a_share_comes_from_the_row_total_when_its_cells_are_suppressed():
    # (Y, work) = 3 fails; with many persons not in work, the cheapest rectangle is
    # {Y, N} x {work, sustained} (12 + 10 + 20). "In work" of Y is then 105 - 90 (no work,
    # published) over 105; "sustained" needs (Y, work) either way: empty.
    table = pd.DataFrame(
        [
            ("Y", NO_WORK, 90),
            ("Y", SUSTAINED, 12),
            ("Y", WORK, 3),
            ("N", NO_WORK, 100),
            ("N", SUSTAINED, 20),
            ("N", WORK, 10),
        ],
        columns=["poverty_risk", "outcome", "n"],
    )
    checked = check_output(table, ["poverty_risk", "outcome"], count="n", rules=OutputRules())
    hidden = checked.cells[checked.suppressed][["poverty_risk", "outcome"]]
    assert sorted(map(tuple, hidden.to_numpy())) == [
        ("N", SUSTAINED),
        ("N", WORK),
        ("Y", SUSTAINED),
        ("Y", WORK),
    ]
    shares = outcome_shares(checked, {"in work": [SUSTAINED, WORK], "sustained": [SUSTAINED]})
    shares = shares.set_index("poverty_risk")
    assert shares.loc["Y", "in work"] == round(15 / 105, 4)
    assert shares.loc["N", "in work"] == round(30 / 130, 4)
    assert pd.isna(shares.loc["Y", "sustained"]) and pd.isna(shares.loc["N", "sustained"])
    assert shares.loc["Total", "sustained"] == round(32 / 235, 4)


def test_notebook_sessions_are_small_and_local(monkeypatch):
    seen = {}

    def fake(settings, *, master, conf):
        seen.update(settings=settings, master=master, conf=conf)
        return "session"

    monkeypatch.setattr(session, "build_spark", fake)
    monkeypatch.delenv("PSEUDOLINK_MASTER", raising=False)
    assert session.notebook_spark("nb") == "session"
    assert seen["master"] == "local[2]"
    assert seen["settings"].shuffle_partitions == 2 and seen["settings"].app_name == "nb"
    assert seen["conf"]["spark.ui.enabled"] == "false"
    assert seen["conf"]["spark.driver.memory"] == "2g"
