"""Output checking: every rule, secondary suppression and the check-output job, on tables
whose verdicts are worked out by hand (the comments give the arithmetic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from pseudolink.errors import ConfigError, InputError
from pseudolink.outputcheck import OutputRules, check_output, load_output_rules
from pseudolink.outputcheck.cells import table_cells
from pseudolink.outputcheck.rules import Dominance
from pseudolink.outputcheck.suppress import Grid, close_lines, exposed_cells, place
from pseudolink.outputcheck.verdicts import pandas_verdicts, with_verdicts

ACRO = OutputRules()  # the shipped defaults: 10, (2, 0.90), 0.10, zeros for review


def verdicts(checked, *keys):
    """{cell labels: (verdict, rules broken, suppression)} of a checked table."""
    out = {}
    for _, c in checked.cells.iterrows():
        label = tuple(c[k] for k in keys) if len(keys) > 1 else c[keys[0]]
        out[label] = (c["verdict"], ",".join(c["rules"]), c["suppression"])
    return out


# --- the rules file ------------------------------------------------------------------------


def test_the_shipped_rules_are_acros_defaults(repo):
    rules = load_output_rules(repo / "conf" / "output_check.yaml")
    assert rules == ACRO
    assert (rules.min_count, rules.dominance.n, rules.dominance.k) == (10, 2, 0.90)
    assert (rules.p_ratio, rules.zeros, rules.secondary_suppression) == (0.10, "review", True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min_count: ten\n", "key 'min_count': expected an integer, got 'ten'"),
        ("threshold: 10\n", "unknown key 'threshold'"),
        ("dominance:\n  k: 1.5\n", "key 'dominance.k': expected at most 1.0"),
        ("dominance:\n  m: 2\n", "unknown key 'dominance.m'"),
        ("zeros: maybe\n", "key 'zeros': expected one of 'review', 'fail', 'pass'"),
        ("margin_label: ' '\n", "margin_label: expected a non-empty label"),
    ],
)
def test_a_wrong_rules_file_names_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_output_rules(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


# --- the rules, one by one (pandas tables) -------------------------------------------------


def test_minimum_count_fails_1_to_9_and_passes_10():
    table = pd.DataFrame({"g": ["a", "b", "c", "d"], "count": [9, 10, 1, 25]})
    checked = check_output(table, "g", count="count", margins=False, rules=ACRO)
    got = verdicts(checked, "g")
    assert got == {
        "a": ("fail", "min_count", "primary"),
        "b": ("pass", "", ""),
        "c": ("fail", "min_count", "primary"),
        "d": ("pass", "", ""),
    }
    reason = checked.cells.set_index("g").loc["a", "reason"]
    assert reason == "9 contributor(s), fewer than the minimum of 10"
    assert not checked.passed


def test_dominance_fails_at_90_percent_of_the_total():
    # a: 60 + 30 = 90 of 100 (90 %, fails: at least k); b: 60 + 29 = 89 of 100 (passes).
    # p-ratio: a: 100 - 90 = 10 >= 0.1 * 60; b: 11 >= 6: both pass it.
    table = pd.DataFrame(
        {"g": ["a", "b"], "n": [12, 12], "sum": [100, 100], "t1": [60, 60], "t2": [30, 29]}
    )
    checked = check_output(
        table, "g", count="n", total="sum", tops=["t1", "t2"], margins=False, rules=ACRO
    )
    assert verdicts(checked, "g") == {
        "a": ("fail", "dominance", "primary"),
        "b": ("pass", "", ""),
    }
    reason = checked.cells.set_index("g").loc["a", "reason"]
    assert reason == (
        "the 2 largest contributors make up 90.0 % of the cell's total (90 % or more fails)"
    )


def test_p_ratio_fails_below_10_percent_of_the_largest():
    # With the NK rule on the largest contributor alone (n = 1, k = 0.9), p-ratio is the
    # only rule left to break. a: (100 - 50 - 46) / 50 = 8 % fails; b: (100 - 50 - 45) / 50
    # = 10 % exactly passes (the rule is "below"); c: 1 contributor of 100 breaks both.
    rules = OutputRules(dominance=Dominance(n=1, k=0.9))
    table = pd.DataFrame(
        {
            "g": ["a", "b", "c"],
            "count": [11, 11, 11],
            "total": [100.0, 100.0, 100.0],
            "top1": [50, 50, 100],
            "top2": [46, 45, 0],
        }
    )
    checked = check_output(
        table,
        "g",
        count="count",
        total="total",
        tops=["top1", "top2"],
        margins=False,
        rules=rules,
    )
    assert verdicts(checked, "g") == {
        "a": ("fail", "p_ratio", "primary"),
        "b": ("pass", "", ""),
        "c": ("fail", "dominance,p_ratio", "primary"),
    }
    reason = checked.cells.set_index("g").loc["a", "reason"]
    assert reason.startswith("the contributors after the 2 largest add up to 8.0 % of the largest")


@pytest.mark.parametrize(
    ("zeros", "verdict", "suppression"),
    [("review", "review", ""), ("fail", "fail", "primary"), ("pass", "pass", "")],
)
def test_zeros_are_flagged_for_review_by_default(zeros, verdict, suppression):
    table = pd.DataFrame({"g": ["a", "b"], "count": [0, 30]})
    checked = check_output(table, "g", count="count", margins=False, rules=OutputRules(zeros=zeros))
    got = verdicts(checked, "g")
    assert got["a"] == (verdict, "" if zeros == "pass" else "zero", suppression)
    assert got["b"] == ("pass", "", "")
    assert checked.passed == (zeros != "fail")


def test_a_table_of_counts_is_not_checked_for_dominance():
    table = pd.DataFrame({"g": ["a"], "count": [12]})
    checked = check_output(table, "g", count="count", margins=False, rules=ACRO)
    assert "dominance and p-ratio do not apply" in checked.summary()


def test_spark_and_pandas_read_the_same_rule_definitions(spark):
    # One table of cells, every rule broken somewhere; the two backends must agree to the
    # letter (Java's format_string and Python's % on the same words).
    # With the NK rule on the largest contributor (n = 1), dom: 900 of 1000 fails it, and
    # (1000 - 900 - 5) / 900 = 10.6 % passes the p-ratio; p: (1000 - 500 - 460) / 500 = 8 %.
    cells = pd.DataFrame(
        {
            "g": ["min", "zero", "dom", "p", "ok"],
            "count": [3, 0, 20, 20, 40],
            "total": [30.0, 0.0, 1000.0, 1000.0, 1000.0],
            "top1": [10.0, 0.0, 900.0, 500.0, 100.0],
            "top2": [10.0, 0.0, 5.0, 460.0, 90.0],
        }
    )
    rules = OutputRules(dominance=Dominance(n=1, k=0.9))
    pandas_side = pandas_verdicts(cells, rules)
    spark_side = with_verdicts(spark.createDataFrame(cells), rules).toPandas()
    assert pandas_side["verdict"].tolist() == ["fail", "review", "fail", "fail", "pass"]
    assert spark_side["verdict"].tolist() == pandas_side["verdict"].tolist()
    assert spark_side["reason"].tolist() == pandas_side["reason"].tolist()
    assert [list(x) for x in spark_side["rules"]] == pandas_side["rules"].tolist()
    assert pandas_side["rules"].tolist() == [
        ["min_count"],
        ["zero"],
        ["dominance"],
        ["p_ratio"],
        [],
    ]


# --- microdata on Spark ----------------------------------------------------------------------


def test_spark_microdata_cells_sum_each_contributor(spark):
    # Cell a: 12 persons, p1 600 and p2 300 and ten of 10: total 1000, top 2 = 90 %: fails
    # dominance; p-ratio (1000 - 900) / 600 = 16.7 % passes.
    # Cell b: q1 has two rows of 200 (one contributor of 400), q2 100, ten of 50, and one
    # row of q2 with no value: 12 persons, total 1000, top 2 = 50 %: passes.
    # Cell c: 5 persons of 10: fails the minimum count only.
    # A row with no category is the cell "(missing)": 1 person, fails.
    rows = [("a", "p1", 600.0), ("a", "p2", 300.0)]
    rows += [("a", f"pa{i}", 10.0) for i in range(10)]
    rows += [("b", "q1", 200.0), ("b", "q1", 200.0), ("b", "q2", 100.0), ("b", "q2", None)]
    rows += [("b", f"qb{i}", 50.0) for i in range(10)]
    rows += [("c", f"r{i}", 10.0) for i in range(5)]
    rows += [(None, "z", 5.0)]
    df = spark.createDataFrame(rows, "g string, person string, amount double")
    checked = check_output(df, "g", value="amount", contributor="person", rules=ACRO)
    cells = checked.cells.set_index("g")
    assert cells.loc["a", ["count", "total", "top1", "top2"]].tolist() == [12, 1000, 600, 300]
    assert cells.loc["b", ["count", "total", "top1", "top2"]].tolist() == [12, 1000, 400, 100]
    assert cells.loc["c", ["count", "total"]].tolist() == [5, 50]
    # The margin counts each person once: 12 + 12 + 5 + 1 persons, 2055 in all, and its
    # largest contributors are p1 (600) and q1 (400).
    assert cells.loc["Total", ["count", "total", "top1", "top2"]].tolist() == [30, 2055, 600, 400]
    assert verdicts(checked, "g") == {
        "a": ("fail", "dominance", "primary"),
        "b": ("pass", "", ""),  # three cells of the line are suppressed: none comes back
        "c": ("fail", "min_count", "primary"),
        "(missing)": ("fail", "min_count,dominance,p_ratio", "primary"),  # 1 of 5: 100 %
        "Total": ("pass", "", ""),
    }
    safe = checked.safe().set_index("g")
    assert safe["count"].isna().tolist() == [True, False, True, True, False]


def test_spark_microdata_p_ratio_zero_and_a_rectangle(spark):
    # With the NK rule on the largest contributor (n = 1, k = 0.9):
    #   (a, x): 10 persons, 500 + 460 + 8 x 5 = 1000: p-ratio 40 / 500 = 8 %: fails;
    #   (a, y) and (b, x): 12 persons of 10: pass; (b, y): nobody: a zero, for review.
    # Margins pass (row a: 22 persons, 1120, (1120 - 960) / 500 = 32 %). The rectangles
    # through (a, x): {a, b} x {x, y} adds (a, y), (b, x) and the zero (b, y); every other
    # one needs two margin cells, and margins come before zeros in the cost.
    rows = [("a", "x", "p1", 500.0), ("a", "x", "p2", 460.0)]
    rows += [("a", "x", f"s{i}", 5.0) for i in range(8)]
    rows += [("a", "y", f"t{i}", 10.0) for i in range(12)]
    rows += [("b", "x", f"u{i}", 10.0) for i in range(12)]
    df = spark.createDataFrame(rows, "r string, c string, person string, v double")
    rules = OutputRules(dominance=Dominance(n=1, k=0.9))
    checked = check_output(df, ["r", "c"], value="v", contributor="person", rules=rules)
    got = verdicts(checked, "r", "c")
    assert got[("a", "x")] == ("fail", "p_ratio", "primary")
    assert got[("b", "y")] == ("review", "zero", "secondary")
    assert got[("a", "y")] == got[("b", "x")] == ("pass", "", "secondary")
    assert all(v == ("pass", "", "") for k, v in got.items() if "Total" in k)
    cells = checked.cells.set_index(["r", "c"])
    assert cells.loc[("a", "Total"), ["count", "total", "top1", "top2"]].tolist() == [
        22,
        1120,
        500,
        460,
    ]
    assert cells.loc[("b", "y"), ["count", "total"]].tolist() == [0, 0]


def test_spark_microdata_counts_rows_without_a_contributor(spark):
    df = spark.createDataFrame([("x",)] * 12 + [("y",)] * 3, "g string")
    checked = check_output(df, "g", margins=False, rules=ACRO)
    assert checked.cells.set_index("g")["count"].to_dict() == {"x": 12, "y": 3}
    assert verdicts(checked, "g")["y"] == ("fail", "min_count", "primary")


def test_spark_and_pandas_give_the_same_checked_two_way_table(spark):
    counts = {("a", "x"): 20, ("a", "y"): 4, ("a", "z"): 30, ("b", "x"): 15, ("b", "y"): 25}
    counts |= {("b", "z"): 40, ("c", "x"): 50, ("c", "y"): 12, ("c", "z"): 11}
    rows = [(r, c) for (r, c), n in counts.items() for _ in range(n)]
    micro = spark.createDataFrame(rows, "r string, c string")
    table = pd.DataFrame([(r, c, n) for (r, c), n in counts.items()], columns=["r", "c", "n"])
    from_spark = check_output(micro, ["r", "c"], rules=ACRO)
    from_pandas = check_output(table, ["r", "c"], count="n", rules=ACRO)
    columns = ["r", "c", "count", "verdict", "reason", "suppression"]
    pd.testing.assert_frame_equal(
        from_spark.cells[columns].reset_index(drop=True),
        from_pandas.cells[columns].reset_index(drop=True),
        check_dtype=False,
    )


# --- secondary suppression -----------------------------------------------------------------


def test_secondary_suppression_in_a_one_way_table():
    # a = 3 fails; alone it would be Total - b - c - d. The smallest other cell is b = 12.
    table = pd.DataFrame({"g": ["a", "b", "c", "d"], "count": [3, 12, 15, 40]})
    checked = check_output(table, "g", count="count", rules=ACRO)
    assert verdicts(checked, "g") == {
        "a": ("fail", "min_count", "primary"),
        "b": ("pass", "", "secondary"),
        "c": ("pass", "", ""),
        "d": ("pass", "", ""),
        "Total": ("pass", "", ""),
    }
    published = [None if pd.isna(v) else int(v) for v in checked.safe()["count"]]
    assert published == [None, None, 15, 40, 70]  # a, b, c, d, Total
    complement = checked.cells.set_index("g").loc["b", "reason"]
    assert "so that the margins do not give a failing cell back" in complement


def test_a_zero_is_the_last_choice_of_complement():
    # b = 0 is smaller than c = 15, but a suppressed zero protects nothing.
    table = pd.DataFrame({"g": ["a", "b", "c", "d"], "count": [3, 0, 15, 20]})
    checked = check_output(table, "g", count="count", rules=ACRO)
    got = verdicts(checked, "g")
    assert got["b"] == ("review", "zero", "")
    assert got["c"] == ("pass", "", "secondary")
    assert got["d"][2] == ""


TWO_WAY = pd.DataFrame(
    [
        ("a", "x", 20), ("a", "y", 4), ("a", "z", 30),
        ("b", "x", 15), ("b", "y", 25), ("b", "z", 40),
        ("c", "x", 50), ("c", "y", 12), ("c", "z", 11),
    ],
    columns=["r", "c", "n"],
)  # fmt: skip


def test_secondary_suppression_in_a_two_way_table_by_hand():
    #        x    y    z  | Total      (a, y) = 4 fails. The rectangles through it, with
    #   a   20    4   30  |  54        the counts of the three other corners:
    #   b   15   25   40  |  80          {a, b} x {y, x}: 20 + 25 + 15 = 60
    #   c   50   12   11  |  73          {a, b} x {y, z}: 30 + 25 + 40 = 95
    # Total 85   41   81  | 207          {a, c} x {y, x}: 20 + 12 + 50 = 82
    #                                    {a, c} x {y, z}: 30 + 12 + 11 = 53, the cheapest
    # (rectangles through a margin cost more: margins come last).
    checked = check_output(TWO_WAY, ["r", "c"], count="n", rules=ACRO)
    got = verdicts(checked, "r", "c")
    suppressed = {k: v[2] for k, v in got.items() if v[2]}
    assert suppressed == {
        ("a", "y"): "primary",
        ("a", "z"): "secondary",
        ("c", "y"): "secondary",
        ("c", "z"): "secondary",
    }
    wide = checked.wide()
    assert list(wide.index) == ["a", "b", "c", "Total"]
    assert list(wide.columns) == ["x", "y", "z", "Total"]
    assert wide.loc["Total", "Total"] == 207 and wide.loc["a", "Total"] == 54
    assert pd.isna(wide.loc["a", "y"]) and wide.loc["b", "z"] == 40
    assert _determined(checked) == []


def test_the_cheapest_rectangle_wins_over_the_smallest_cell():
    #          no   sus  work | Total     (Y, work) = 3 fails. The smallest other cell of
    #    N     10    20    10 |  40       row Y is (Y, sus) = 12, but its rectangle costs
    #    Y     15    12     3 |  30       12 + 10 + 20 = 42; the one through (Y, no) costs
    # Total    25    32    13 |  70       15 + 10 + 10 = 35.
    table = pd.DataFrame(
        [("N", "no", 10), ("N", "sus", 20), ("N", "work", 10)]
        + [("Y", "no", 15), ("Y", "sus", 12), ("Y", "work", 3)],
        columns=["r", "c", "n"],
    )
    checked = check_output(table, ["r", "c"], count="n", rules=ACRO)
    got = verdicts(checked, "r", "c")
    assert {k: v[2] for k, v in got.items() if v[2]} == {
        ("N", "no"): "secondary",
        ("N", "work"): "secondary",
        ("Y", "no"): "secondary",
        ("Y", "work"): "primary",
    }


BRIDGE = [[3, 4, 5, 50], [6, 7, 20, 30], [40, 60, 8, 9], [70, 80, 2, 1]]


def bridge_table():
    #        x   y   z   w        Nine cells fail (below 10): the rectangle {a, b} x {x, y},
    #   a    3   4   5  50        the rectangle {c, d} x {z, w}, and (a, z), which joins
    #   b    6   7  20  30        them alone: every line has 0 or >= 2 suppressed cells, yet
    #   c   40  60   8   9        row a minus (column x + column y - row b) gives (a, z).
    #   d   70  80   2   1
    return pd.DataFrame(
        [(r, c, BRIDGE[i][j]) for i, r in enumerate("abcd") for j, c in enumerate("xyzw")],
        columns=["r", "c", "n"],
    )


def test_a_failing_cell_joins_the_cheapest_cycle():
    # The rectangles through (a, z) whose other corners are already suppressed but one:
    # {a, b} x {z, x} or {a, b} x {z, y} add only (b, z) = 20; {a, c} x {z, w} would add
    # (a, w) = 50. So (b, z) is suppressed, and (a, z) lies on a cycle.
    checked = check_output(bridge_table(), ["r", "c"], count="n", rules=ACRO)
    got = verdicts(checked, "r", "c")
    assert [k for k, v in got.items() if v[2] == "secondary"] == [("b", "z")]
    assert sum(v[2] == "primary" for v in got.values()) == 9
    assert _determined(checked) == []
    primary = (checked.cells["suppression"] == "primary").to_numpy()
    assert _determined(checked, primary) == [("a", "z")]  # the oracle sees the bridge


def test_the_line_rule_and_the_linear_audit_close_what_is_left():
    # The safety net on its own: with the nine primary cells only, no line holds a single
    # suppressed cell, but the audit finds the bridge (a, z) and suppresses the cheapest
    # other inner cell of row a, (a, w) = 50, which puts (a, z) on a cycle.
    checked = check_output(bridge_table(), ["r", "c"], count="n", rules=ACRO)
    cells = checked.cells
    grid = place(cells, list(range(len(cells))), ["r", "c"], "Total")
    grid.suppressed = {k for k in range(len(cells)) if cells["suppression"].iloc[k] == "primary"}
    at = {(cells["r"].iloc[k], cells["c"].iloc[k]): k for k in range(len(cells))}
    assert exposed_cells(grid) == [at[("a", "z")]]
    assert close_lines(grid) == []
    added = grid.suppressed - {
        k for k in range(len(cells)) if cells["suppression"].iloc[k] == "primary"
    }
    assert added == {at[("a", "w")]}
    assert exposed_cells(grid) == []


def test_layers_are_independent_tables():
    table = pd.concat([TWO_WAY.assign(pop="2016"), TWO_WAY.assign(pop="2019", n=TWO_WAY["n"] + 10)])
    checked = check_output(table, ["r", "c"], layers=["pop"], count="n", rules=ACRO)
    per = checked.cells.groupby("pop")["suppression"].apply(lambda s: (s != "").sum())
    assert per.to_dict() == {"2016": 4, "2019": 0}  # 2019's smallest cell is 4 + 10
    assert checked.wide(pop=2019).loc["a", "y"] == 14


def test_without_margins_nothing_is_suppressed_twice():
    checked = check_output(TWO_WAY, ["r", "c"], count="n", margins=False, rules=ACRO)
    assert (checked.cells["suppression"] != "").sum() == 1


def test_secondary_suppression_can_be_switched_off():
    rules = OutputRules(secondary_suppression=False)
    checked = check_output(TWO_WAY, ["r", "c"], count="n", rules=rules)
    assert checked.cells["suppression"].tolist().count("secondary") == 0


def test_absent_combinations_are_zero_cells():
    table = TWO_WAY[~((TWO_WAY["r"] == "c") & (TWO_WAY["c"] == "z"))]
    checked = check_output(table, ["r", "c"], count="n", rules=ACRO)
    assert verdicts(checked, "r", "c")[("c", "z")] == ("review", "zero", "")


def _determined(checked, suppressed=None):
    """Oracle: the suppressed cells that the published cells and margins give exactly, from
    the null space of the relations (an SVD), independent of the checker's rank test."""
    cells = checked.cells
    hidden = suppressed if suppressed is not None else (cells["suppression"] != "").to_numpy()
    label = checked.rules.margin_label
    r, c = checked.by
    keys = [(a, b) for a, b in zip(cells[r], cells[c], strict=True)]
    index = {k: i for i, k in enumerate(keys)}
    relations = []
    for name in (r, c):
        for v in sorted(set(cells[name])):
            line = [k for k in keys if (k[0] if name == r else k[1]) == v]
            row = np.zeros(len(keys))
            for k in line:
                row[index[k]] = -1.0 if (k[1] if name == r else k[0]) == label else 1.0
            relations.append(row)
    a = np.array(relations)[:, hidden]
    names = [k for k, h in zip(keys, hidden, strict=True) if h]
    _, s, vt = np.linalg.svd(a)
    rank = int((s > 1e-9).sum())
    null = vt[rank:]
    return [names[i] for i in range(len(names)) if np.all(np.abs(null[:, i]) < 1e-9)]


def test_exposed_cells_on_a_small_grid():
    # 1 x 2 inner cells with a margin column: one suppressed is its margin minus the other.
    grid = Grid(index=[0, 1, 2], row=[0, 0, 0], col=[0, 1, 2], row_margin=None,
                col_margin=2, counts=[3, 20, 23], suppressed={0})  # fmt: skip
    assert exposed_cells(grid) == [0]
    grid.suppressed = {0, 1}
    assert exposed_cells(grid) == []


# --- aggregated margins and bad input ------------------------------------------------------


def test_margins_of_an_aggregated_table_take_the_largest_contributions():
    table = pd.DataFrame(
        {"g": ["a", "b"], "n": [12, 15], "sum": [100.0, 300.0], "t1": [50, 200], "t2": [20, 60]}
    )
    cells = table_cells(table, ["g"], count="n", total="sum", tops=["t1", "t2"])
    total = cells[cells["g"] == "Total"].iloc[0]
    assert [total["count"], total["total"], total["top1"], total["top2"]] == [27, 400, 200, 60]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": "nope"}, "the table: no column 'nope' (columns: g, n, s)"),
        ({"count": "s"}, "the table: column 's': expected whole numbers >= 0, found 'lots'"),
        ({"count": "n", "total": "n"}, "needs its 2 largest contributions per cell"),
        ({}, "a pandas table needs its count column"),
    ],
)
def test_bad_pandas_input_is_one_clear_error(kwargs, message):
    table = pd.DataFrame({"g": ["a", "b"], "n": [1, 2], "s": ["3", "lots"]})
    with pytest.raises(InputError) as err:
        check_output(table, "g", rules=ACRO, **kwargs)
    assert message in str(err.value)


def test_a_category_named_like_the_margin_is_refused(spark):
    df = spark.createDataFrame([("Total",), ("x",)], "g string")
    with pytest.raises(InputError, match="column 'g' has a category 'Total', the margin label"):
        check_output(df, "g", rules=ACRO)


def test_sums_of_spark_microdata_stay_on_the_cluster(spark):
    # The frame of cells is a Spark plan until it is checked: aggregated, not collected.
    from pseudolink.outputcheck.cells import cell_stats

    df = spark.createDataFrame([("a", 1.0), ("b", 2.0)], "g string, v double")
    cells = cell_stats(df, ["g"], value="v")
    assert cells.columns == ["g", "count", "total", "top1", "top2"]
    assert cells.filter(F.col("g") == "Total").first()["total"] == 3.0
