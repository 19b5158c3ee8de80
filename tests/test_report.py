"""The SCRA report (HTML) on a real summary of a refused run (tests/data/scra_sample.json:
aggregates only, no personal data), on an empty one, and with hostile strings.

Pure Python: no Spark fixture is requested.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pseudolink.release.report import render_report

SAMPLE = Path(__file__).resolve().parent / "data" / "scra_sample.json"
PNG = 'src="data:image/png;base64,'


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(sample: dict[str, Any]) -> str:
    return render_report(copy.deepcopy(sample))


def _text(page: str) -> str:
    """The page without its images, for searching numbers."""
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)


def test_the_page_is_whole_and_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count(PNG) >= 4


def test_verdict_and_reason(page: str, sample: dict[str, Any]) -> None:
    assert '<div class="banner fail"><b>FAIL</b>' in page
    assert "banner pass" not in page
    assert "no key left to suppress" in page
    assert "scenarios passed</b> 1 of 4" in page


def test_every_scenario_with_its_units_below_k(page: str, sample: dict[str, Any]) -> None:
    text = _text(page)
    for scenario in sample["scenarios"]:
        assert scenario["name"] in text
        assert scenario["description"].replace("'", "&#x27;") in text
    for table in ("vdab_employment", "vdab_activation"):
        assert table in text
    assert "1,247 persons" in text  # units with a thousands separator
    assert "196 &rarr; 169 &rarr; 32 &rarr; 0" in text  # a row scenario's rounds
    assert "k = 2" in text and "k = 3" in text and "k = 5" in text


def test_levels_are_shown_as_classes(page: str) -> None:
    text = _text(page)
    assert "5-year classes" in text
    assert "district &rarr; province" in text
    assert "level 1" not in text and "level 2" not in text


def test_keys_categories_transitions_and_risk(page: str) -> None:
    text = _text(page)
    assert "45.3 %" in text  # age_class's share suppressed
    assert "(missing)" in text and "+565" in text  # its category table with the change
    assert "50.3 %" in text  # residence transitions kept
    assert "Household risk" in text and "0.2759" in text
    assert "Lattice nodes evaluated" in text and "chosen" in text


def test_panels_and_years_are_printed_as_they_are(page: str) -> None:
    text = _text(page)
    assert "Panels: residual risk" in text
    assert "research material (&sect;17)" in text and "released unchanged" in text
    assert "two quarters a year apart" in text
    assert "socio_economic_position" in text and "benefit_status" in text
    assert "2016" in text and "2019" in text and "2022" in text
    assert not re.search(r"\b20[0-9],[0-9]{3}\b", text)  # never 2,016


def test_the_explanation(page: str) -> None:
    text = _text(page)
    for phrase in (
        "missing (suppressed) value matches every category",
        "exact match",
        "lattice",
        "least entropy loss",
        "localSuppression",
        "ghost variables",
        "at least k matches among the released units of its population",
        "knows more than a scenario states",
    ):
        assert phrase in text, phrase


@pytest.mark.parametrize("summary", [{}, None, {"verdict": "pass", "k": 5}])
def test_an_empty_summary_renders(summary: Any) -> None:
    page = render_report(summary)
    assert page.startswith("<!DOCTYPE html>") and page.count(PNG) >= 4
    assert "No scenarios recorded." in page


def test_a_pass_without_reason_says_what_it_guarantees() -> None:
    page = render_report({"verdict": "pass", "k": 5, "reason": ""})
    assert '<div class="banner pass"><b>PASS</b>' in page
    assert "at least k = 5 matches" in page


def test_malformed_parts_do_not_break_the_page(sample: dict[str, Any]) -> None:
    broken = copy.deepcopy(sample)
    broken["scenarios"][0]["below_k"] = "x"
    broken["scenarios"][3]["tables_below_k"] = {"vdab_employment": None}
    broken["lattice"] = {"not": "a list"}
    broken["keys"]["sex"] = 3
    broken["panels"] = [{"table": "ksz", "populations": [None, {"population": 2016}]}]
    broken["rounds"] = [None, {"below_k": 1}]
    broken["transitions"] = []
    broken["household_risk"] = "n/a"
    page = render_report(broken)
    assert page.count(PNG) >= 4 and "2,016" not in _text(page)


def test_every_string_is_escaped(sample: dict[str, Any]) -> None:
    hostile = copy.deepcopy(sample)
    hostile["release_id"] = "<b>id</b>"
    hostile["reason"] = 'k < 5 & "quotes"'
    hostile["scenarios"][0]["description"] = "<script>alert(1)</script>"
    hostile["scenarios"][1]["name"] = "<img src=x>"
    hostile["keys"]["sex"]["categories"][0]["value"] = "<i>F</i>"
    hostile["levels"]["residence"]["chosen_label"] = "<u>province</u>"
    hostile["panels"][0]["column"] = "$x$ <em>"
    hostile["transitions"]["$\\frac{<"] = {"before": 3, "after": 1, "kept": 0.3333}  # mathtext
    page = render_report(hostile)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x>" not in page and "&lt;img src=x&gt;" in page
    assert "<b>id</b>" not in page and "&lt;b&gt;id&lt;/b&gt;" in page
    assert "k &lt; 5 &amp; &quot;quotes&quot;" in page
    assert "<i>F</i>" not in page and "<u>province</u>" not in page and "<em>" not in page
