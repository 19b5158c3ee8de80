"""The validation notebooks' building blocks, on hand-built frames with known counts."""

from __future__ import annotations

import pandas as pd
import pytest

from pseudolink.schemas import load_source
from pseudolink.validation.deliveries import (
    UNREADABLE,
    accepted_counts,
    delivery_overview,
    linkage_overview,
    quarantine_counts,
)
from pseudolink.validation.distributions import year_on_year, yearly_counts
from pseudolink.validation.populations import follow_up_by_year, moves_by_year


def ksz_line(schema, quarter):
    """A raw KSZ line with ``quarter`` in its period column, the rest filled in."""
    values = {"insz": "85073003328", "quarter": quarter, "socio_economic_position": "111"}
    return ";".join(values.get(c, "0") for c in schema.files["ksz_quarterly"].names)


def test_quarantined_lines_get_their_period_from_the_raw_text(spark, repo):
    ksz = load_source(repo / "conf", "ksz")
    rows = [
        ("ksz", "ksz_quarterly", ksz_line(ksz, "2019Q2"), "BAD_INSZ"),
        ("ksz", "ksz_quarterly", ksz_line(ksz, "2019Q2"), "BAD_INSZ"),
        ("ksz", "ksz_quarterly", ksz_line(ksz, "2019Q3"), "UNKNOWN_CODE"),
        ("ksz", "ksz_quarterly", ksz_line(ksz, "2019-Q3"), "BAD_DATE"),
        ("ksz", "ksz_quarterly", "85073003328", "BAD_COLUMN_COUNT"),
        ("ksz", "ksz_quarterly", None, "BAD_ENCODING"),
    ]
    quarantine = spark.createDataFrame(
        rows, "source string, kind string, raw_line string, reason string"
    )
    counts = quarantine_counts(quarantine, {"ksz": ksz}).toPandas()
    got = {(r.period, r.reason): r.rows for r in counts.itertuples()}
    assert got == {
        ("2019Q2", "BAD_INSZ"): 2,
        ("2019Q3", "UNKNOWN_CODE"): 1,
        (UNREADABLE, "BAD_DATE"): 1,
        (UNREADABLE, "BAD_COLUMN_COUNT"): 1,
        (UNREADABLE, "BAD_ENCODING"): 1,
    }
    assert set(counts["source"]) == {"ksz"} and set(counts["kind"]) == {"ksz_quarterly"}


def test_accepted_rows_per_period(spark):
    bronze = spark.createDataFrame([("2019Q1",), ("2019Q1",), ("2019Q2",)], "period string")
    counts = accepted_counts(bronze, "ksz", "ksz_quarterly").toPandas()
    assert dict(zip(counts["period"], counts["rows"], strict=True)) == {"2019Q1": 2, "2019Q2": 1}
    assert counts["reason"].isna().all()


def test_delivery_overview_adds_up_received_accepted_and_quarantined():
    counts = pd.DataFrame(
        [
            ("ksz", "q", "2019Q1", None, 98),
            ("ksz", "q", "2019Q1", "BAD_INSZ", 2),
            ("ksz", "q", "2019Q2", None, 50),
            ("ksz", "q", UNREADABLE, "BAD_ENCODING", 5),
        ],
        columns=["source", "kind", "period", "reason", "rows"],
    )
    overview = delivery_overview(counts).set_index("period")
    assert overview.loc["2019Q1", ["received", "accepted", "quarantined"]].tolist() == [100, 98, 2]
    assert overview.loc["2019Q1", "quarantined_share"] == 0.02
    assert overview.loc["2019Q1", "BAD_INSZ"] == 2 and overview.loc["2019Q2", "BAD_INSZ"] == 0
    assert overview.loc[UNREADABLE, ["received", "accepted", "BAD_ENCODING"]].tolist() == [5, 0, 5]
    clean = delivery_overview(counts[counts["reason"].isna()])
    assert clean["quarantined"].tolist() == [0, 0]


def test_linkage_overview_leaves_out_rows_in_no_population():
    report = pd.DataFrame(
        [
            ("ksz", "q", "2016", "2019Q1", 200, 150, 50),
            ("ksz", "q", "none", "2019Q1", 800, 0, 0),
        ],
        columns=["source", "kind", "population", "period", "rows_in", "linked", "outside_window"],
    )
    out = linkage_overview(report)
    assert out["population"].tolist() == ["2016"] and out["linkage_rate"].tolist() == [0.75]


def test_follow_up_counts_joining_and_leaving_per_year(spark):
    # A: index 2016-2018, died in 2018. B: member 2016-2024. C: joined in 2018, left the
    # household during 2019. D: index 2016 only, moved abroad during 2016.
    membership = spark.createDataFrame(
        [
            (2016, "index", 2016, 2018, "died"),
            (2016, "member", 2016, 2024, None),
            (2016, "member", 2018, 2019, "left_household"),
            (2016, "index", 2016, 2016, "moved_abroad"),
        ],
        "population int, role string, valid_from int, valid_to int, end_reason string",
    )
    rows = follow_up_by_year(membership).toPandas().set_index("year")
    columns = ["followed", "index_persons", "members", "joined", "left", "moved", "died"]
    assert rows.loc[2016, columns].tolist() == [3, 2, 1, 0, 0, 1, 0]
    assert rows.loc[2018, columns].tolist() == [3, 1, 2, 1, 0, 0, 1]
    assert rows.loc[2019, columns].tolist() == [2, 0, 2, 0, 1, 0, 0]
    assert rows.loc[2024, columns].tolist() == [1, 0, 1, 0, 0, 0, 0]
    assert list(rows.index) == list(range(2016, 2025))


def test_moves_per_year_and_destination(spark):
    moves = spark.createDataFrame(
        [(2016, 2017, "abroad"), (2016, 2017, "abroad"), (2016, 2018, "other_region")],
        "population int, move_year int, destination string",
    )
    out = moves_by_year(moves).toPandas()
    assert out["persons"].tolist() == [2, 1]


def test_year_on_year_flags_a_jump_in_shares_and_in_volume(spark):
    # 2016: a 50 %, b 50 %; 2017: a 40 %, b 60 % (a 10-point jump); 2018: 105 rows, same
    # shares (no jump); 2019: 150 rows (+43 %: a volume jump); a missing category counts.
    rows = [("2016", "a")] * 50 + [("2016", "b")] * 50
    rows += [("2017", "a")] * 40 + [("2017", "b")] * 60
    rows += [("2018", "a")] * 42 + [("2018", "b")] * 63
    rows += [("2019Q1", "a")] * 60 + [("2019Q2", "b")] * 89 + [("2019Q3", None)]
    df = spark.createDataFrame(rows, "period string, c string")
    counts = yearly_counts(df, "c").toPandas()
    assert counts[counts["year"] == 2019].set_index("category")["rows"].to_dict() == {
        "(missing)": 1,
        "a": 60,
        "b": 89,
    }
    shares, volume = year_on_year(counts)
    jumps = shares[shares["jump"]]
    assert sorted(zip(jumps["year"], jumps["category"], strict=True)) == [(2017, "a"), (2017, "b")]
    assert jumps["change"].round(2).tolist() == pytest.approx([-0.1, 0.1])
    assert volume.set_index("year")["jump"].to_dict() == {
        2016: False,
        2017: False,
        2018: False,
        2019: True,
    }
