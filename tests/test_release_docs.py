"""The release documents: the data dictionary (Markdown) and the SCRA report (HTML).

Pure Python: no Spark fixture is requested.
"""

from __future__ import annotations

import copy
import csv
import re
from pathlib import Path
from typing import Any

import pytest

from pseudolink.release.dictionary import class_labels, render_dictionary
from pseudolink.release.report import render_report
from pseudolink.release.rules import ReleaseRules, load_rules

CONF = Path(__file__).resolve().parents[1] / "conf"
IMG = '<img alt="'
PNG = 'src="data:image/png;base64,'


@pytest.fixture(scope="module")
def rules() -> ReleaseRules:
    return load_rules(CONF)


def _columns(rules: ReleaseRules) -> dict[str, list[tuple[str, str]]]:
    return {
        name: [(c, "string" if rule.hierarchy else "int") for c, rule in t.columns.items()]
        for name, t in rules.tables.items()
    }


@pytest.fixture(scope="module")
def dictionary(rules: ReleaseRules) -> str:
    levels = {qi: rules.qi_rule(qi).level for qi in rules.quasi_identifiers}
    levels.update({"age_class": 1, "residence": 2})
    return render_dictionary(rules, CONF, levels, _columns(rules), "release-20261125")


def _section(md: str, table: str) -> str:
    return md.split(f"\n## {table}\n", 1)[1].split("\n## ", 1)[0]


def _row(md: str, table: str, column: str) -> str:
    return next(
        line for line in _section(md, table).splitlines() if line.startswith(f"| `{column}` |")
    )


# --- dictionary ---------------------------------------------------------------------------


def test_dictionary_names_every_table_and_column(rules: ReleaseRules, dictionary: str) -> None:
    assert dictionary.startswith("# Data dictionary: release-20261125")
    positions = [dictionary.index(f"\n## {name}\n") for name in rules.tables]
    assert positions == sorted(positions)
    for name, table in rules.tables.items():
        section = _section(dictionary, name)
        assert table.comment in section
        for column, rule in table.columns.items():
            row = _row(dictionary, name, column)
            assert rule.comment.replace("|", "\\|") in row


def test_dictionary_partitioning(dictionary: str) -> None:
    assert "Partitioned by `population`." in _section(dictionary, "persons")
    assert "Partitioned by `population` and `year`." in _section(dictionary, "demobel")
    assert "Partitioned by `population` and `quarter`." in _section(dictionary, "ksz")


def test_dictionary_header_explains_ids_and_suppression(dictionary: str) -> None:
    head = dictionary.split("\n## ", 1)[0]
    assert "person_id" in head and "household_id" in head and "sequence number" in head
    assert "local suppression" in head


def test_age_labels(rules: ReleaseRules) -> None:
    age = rules.hierarchies["age"]
    level0 = class_labels(age, 0, CONF)
    assert level0[:3] == ["<15", "15-19", "20-24"]
    assert level0[-2:] == ["75-79", "80+"]
    level1 = class_labels(age, 1, CONF)
    assert "15-24" in level1 and "75+" in level1 and "15-19" not in level1
    assert level1[-2:] == ["65-74", "75+"]
    assert class_labels(rules.hierarchies["household_size"], 0, CONF) == [
        "<1", "1", "2", "3", "4", "5", "6+"
    ]  # fmt: skip


def test_amount_labels(rules: ReleaseRules) -> None:
    labels = class_labels(rules.hierarchies["amount"], 0, CONF)
    assert labels[:3] == ["<0", "[0,1)", "[1,2500)"]
    assert "[2500,5000)" in labels and labels[-1] == "75000+"
    assert class_labels(rules.hierarchies["rooms"], 0, CONF)[:3] == ["<0", "[0,0.5)", "[0.5,1)"]


def test_residence_labels_at_province_level(rules: ReleaseRules) -> None:
    with (CONF / "codes" / "province.csv").open(encoding="utf-8") as handle:
        provinces = {row["code"] for row in csv.DictReader(handle, delimiter=";")}
    labels = class_labels(rules.hierarchies["residence"], 2, CONF)
    assert "ANT" in labels and len(labels) == len(set(labels))
    assert set(labels) <= provinces


def test_dictionary_uses_treated_levels_for_quasi_identifiers(dictionary: str) -> None:
    age = _row(dictionary, "demobel", "age_class")
    assert "age, level 1" in age and "`15-24`" in age and "`75+`" in age
    assert "`15-19`" not in age
    assert "quasi-identifier (SCRA, k = 5)" in age
    residence = _row(dictionary, "demobel", "residence")
    assert "residence, level 2" in residence and "`ANT`" in residence
    amount = _row(dictionary, "adi", "income_wages")
    assert "amount, level 0" in amount and "`[2500,5000)`" in amount and "`75000+`" in amount
    assert "quasi-identifier" not in amount
    assert "`YYYY-MM`" in _row(dictionary, "vdab", "registration_start")
    assert "quasi-identifier (SCRA" in _row(dictionary, "census", "education_level")
    assert "quasi-identifier" not in _row(dictionary, "demobel", "first_nationality")


# --- report -------------------------------------------------------------------------------


def _risk(population: int, year: int, below: int) -> dict[str, Any]:
    return {
        "population": population,
        "year": year,
        "records": 11000,
        "records_below_k": below,
        "cells_below_k": below // 2,
        "expected_reidentifications": 812.3,
        "global_risk": 0.07,
        "max_household_risk": 1.0,
        "mean_household_risk": 0.1,
    }


def _summary(verdict: str) -> dict[str, Any]:
    sizes = ("1", "2", "3", "4", "5-9", "10-19", "20+")
    return {
        "release_id": "release-20261125",
        "k": 5,
        "quasi_identifiers": ["sex", "age_class", "residence", "education_level"],
        "verdict": verdict,
        "reason": "" if verdict == "pass" else "12 records still in cells below k",
        "start_levels": {"sex": 0, "age_class": 0, "residence": 1, "education_level": 0},
        "levels": {"sex": 0, "age_class": 1, "residence": 2, "education_level": 0},
        "rounds": [
            {"phase": "start", "detail": "", "records_below_k": 120, "persons_below_k": 30},
            {"phase": "recode", "detail": "residence to level 2", "records_below_k": 60,
             "persons_below_k": 20},
            {"phase": "suppress", "detail": "education_level", "records_below_k": 0,
             "persons_below_k": 4},
            {"phase": "final", "detail": "", "records_below_k": 0, "persons_below_k": 0},
        ],  # fmt: skip
        "risk": {
            "before": [_risk(p, y, 40) for p in (2016, 2019) for y in (2017, 2018)],
            "after": [_risk(p, y, 0) for p in (2016, 2019) for y in (2017, 2018)],
        },
        "cell_sizes": {
            "before": [{"population": 2016, "cell_size": s, "records": 300} for s in sizes],
            "after": [{"population": 2016, "cell_size": s, "records": 90} for s in sizes[4:]],
        },
        "longitudinal": {
            "before": [{"population": 2016, "persons": 11000, "persons_below_k": 500,
                        "longitudinal_only": 40}],
            "after": [{"population": 2016, "persons": 11000, "persons_below_k": 0,
                       "longitudinal_only": 0}],
        },  # fmt: skip
        "information_loss": {
            "records": 90000,
            "records_changed": 3000,
            "suppressions": {"sex": 0, "education_level": 1200, "<script>": 3},
            "classes_merged": {"residence": 17},
            "levels": {"residence": 2},
        },
        "offending": [
            {"population": 2016, "year": 2017, "records": 2,
             "keys": {"sex": "M", "age_class": "<script>alert(1)</script>", "residence": None}},
        ]
        + [{"population": 2019, "year": 2018, "records": 1, "keys": {"sex": "F"}}] * 60,
        "seconds": 123.4,
    }  # fmt: skip


def test_report_pass() -> None:
    page = render_report(_summary("pass"))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert '<div class="banner pass"><b>PASS</b>' in page
    assert "banner fail" not in page
    assert page.count(PNG) == 4 and page.count(IMG) == 4
    assert "Key combinations still in small cells" not in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "release-20261125" in page and "education_level" in page
    assert "residence to level 2" in page


def test_report_fail_lists_offending_combinations() -> None:
    page = render_report(_summary("fail"))
    assert '<div class="banner fail"><b>FAIL</b>' in page
    assert "12 records still in cells below k" in page
    assert page.count(PNG) == 4
    assert "Key combinations still in small cells" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    offending = page.split("Key combinations still in small cells", 1)[1]
    assert len(re.findall(r"<tr><td", offending)) == 50
    assert "The first 50 of 61 combinations." in offending


def test_report_escapes_the_reason_and_ids() -> None:
    summary = _summary("fail")
    summary["reason"] = 'k < 5 & "quotes"'
    summary["release_id"] = "<b>id</b>"
    page = render_report(summary)
    assert "k &lt; 5 &amp; &quot;quotes&quot;" in page
    assert "<b>id</b>" not in page and "&lt;b&gt;id&lt;/b&gt;" in page


def test_report_without_treatment() -> None:
    summary = _summary("fail")
    summary["rounds"] = []
    for part in ("risk", "cell_sizes", "longitudinal"):
        summary[part] = {"before": summary[part]["before"]}
    summary["information_loss"] = {}
    page = render_report(summary)
    assert page.count(PNG) == 4
    assert "it did not run" in page


@pytest.mark.parametrize("verdict", ["pass", "fail"])
def test_report_on_an_empty_skeleton(verdict: str) -> None:
    skeleton = {
        "release_id": "",
        "k": 5,
        "quasi_identifiers": [],
        "verdict": verdict,
        "reason": "",
        "start_levels": {},
        "levels": {},
        "rounds": [],
        "risk": {"before": [], "after": []},
        "cell_sizes": {"before": [], "after": []},
        "longitudinal": {"before": [], "after": []},
        "information_loss": {"records": 0, "records_changed": 0, "suppressions": {},
                             "classes_merged": {}, "levels": {}},
        "offending": [],
        "seconds": 0,
    }  # fmt: skip
    page = render_report(copy.deepcopy(skeleton))
    assert page.count(PNG) == 4
    assert render_report({}).count(PNG) == 4
