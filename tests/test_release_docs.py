"""The release documents: the data dictionary (Markdown). The SCRA report (HTML) is tested
in tests/test_report.py.

Pure Python: no Spark fixture is requested.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pseudolink.release.dictionary import render_dictionary
from pseudolink.release.hierarchy import class_labels
from pseudolink.release.rules import ReleaseRules, load_rules

CONF = Path(__file__).resolve().parents[1] / "conf"


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
    levels = {q: rules.key_rule(q).level for q in rules.keys}
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


def test_dictionary_uses_treated_levels_for_key_variables(dictionary: str) -> None:
    age = _row(dictionary, "persons", "age_class")
    assert "age, level 1" in age and "`15-24`" in age and "`75+`" in age
    assert "`15-19`" not in age
    assert "key variable (SCRA, k = 5)" in age
    residence = _row(dictionary, "demobel", "residence")
    assert "residence, level 2" in residence and "`ANT`" in residence
    amount = _row(dictionary, "adi", "income_wages")
    assert "amount, level 0" in amount and "`[2500,5000)`" in amount and "`75000+`" in amount
    assert "key variable" not in amount
    assert "`YYYY-MM`" in _row(dictionary, "vdab", "registration_start")
    assert "key variable (SCRA" in _row(dictionary, "census", "education_level")
    ghost = _row(dictionary, "persons", "first_nationality")
    assert "key variable" not in ghost and "suppressed with `current_nationality`" in ghost
