"""The small cell risk analysis of a release: the intruder model of conf/release.yaml
applied to the release's frames, treated, measured (what it cost, what risk is left).

:func:`analyse` takes the pseudonymised frames (and the persons table built from them) and
returns what the release job writes: the levels, the masks of the suppressed values, the
treated row-scenario tables, and the SCRA report's figures. The steps are in
:mod:`pseudolink.release.treat` (treatment) and :mod:`pseudolink.release.utility`
(figures). Details and what the gate does and does not guarantee: docs/release.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.release.build import (
    EVENT_KIND,
    NO_EVENT,
    ROW_KEY,
    event_key,
    key_column,
    masked,
    release_frame,
)
from pseudolink.release.hierarchy import describe
from pseudolink.release.rules import ReleaseRules
from pseudolink.release.treat import (
    Materialise,
    choose_levels,
    fk_col,
    masks,
    person_keys,
    score,
    start_levels,
    treat_persons,
    treat_rows,
)
from pseudolink.release.utility import (
    SHOWN_K,
    below_k_at,
    household_risks,
    key_figures,
    mean_loss,
    panel_risk,
    rows_below_k_at,
    transitions,
)

# Changes between consecutive years the report counts (transitions kept).
TRANSITIONS = ("residence", "household_type", "education_level", "current_nationality")
# The unit an age band is counted in, for the report's "5-year classes".
UNITS = {"age_class": "year", "year_of_arrival": "year"}


@dataclass
class Analysis:
    levels: dict[str, int]
    person_mask: DataFrame  # population, person_id, _null_<persons column>
    yearly_mask: DataFrame  # population, year, person_id, _null_<demobel/census column>
    rows: dict[str, DataFrame] = field(default_factory=dict)  # row scenarios' tables, treated
    figures: dict = field(default_factory=dict)
    passed: bool = False
    reason: str = ""


def analyse(
    frames: dict[str, DataFrame],
    yearly: DataFrame,
    reference: DataFrame,
    rules: ReleaseRules,
    conf_dir: Path | str,
    last_year: int,
    materialise: Materialise,
    log: Callable[[str], None] = lambda _: None,
) -> Analysis:
    """Recode, suppress and measure (module doc). ``frames`` are the release's sources
    by name (``persons`` built); ``yearly`` and ``reference`` come from
    :mod:`pseudolink.release.build`."""
    events = materialise(event_key(frames["persons"], rules, conf_dir, last_year))
    kept: dict[str, DataFrame] = {}
    levels, lattice = choose_levels(reference, events, rules, conf_dir, log, materialise, kept)
    start = materialise(person_keys(reference, events, rules, conf_dir, start_levels(rules)))
    person_fks = [fk_col(n) for n, s in rules.scenarios.items() if s.unit == "person"]
    counted = kept.get("scored")  # the chosen node's keys, counted by the lattice
    if counted is None:
        recoded = materialise(person_keys(reference, events, rules, conf_dir, levels))
    else:
        recoded = counted.drop(*person_fks)
    demographics = next(
        (n for n, s in rules.scenarios.items() if s.unit == "person" and not s.event),
        next((n for n, s in rules.scenarios.items() if s.unit == "person"), None),
    )
    # Exact after treatment: the scenario of the household risk figure, and those whose k
    # is below a threshold the report counts (every other count is exact below k).
    exact = [
        n
        for n, s in rules.scenarios.items()
        if s.unit == "person" and (n == demographics or rules.scenario_k(n) < max(SHOWN_K))
    ]
    after, rounds, reason = treat_persons(recoded, rules, materialise, log, counted, exact)
    final = after.drop(*[fk_col(n) for n, s in rules.scenarios.items() if s.unit != "row"])
    t0 = time.monotonic()
    person_mask, yearly_mask = masks(recoded, final, yearly, reference, rules, conf_dir, levels)
    out = Analysis(levels, materialise(person_mask), materialise(yearly_mask))
    log(f"SCRA: masks of every year and member in {time.monotonic() - t0:.1f} s")
    problems = [reason] if reason else []

    scenarios = []
    before = materialise(score(start, rules, materialise=materialise))  # read by several figures
    for name, sc in rules.scenarios.items():
        k = rules.scenario_k(name)
        entry: dict = {"name": name, **sc.__dict__, "k": k}
        if sc.unit == "row":
            entry["tables_below_k"] = {}
            for table, columns in sc.tables.items():
                if table not in frames_of(frames, rules):
                    continue  # left out of a corrected re-release
                released = release_frame(
                    frames[rules.tables[table].source], rules.tables[table], rules, conf_dir, levels
                )
                treated = treat_rows(released, columns, k, materialise, rules.max_rounds)
                history = treated.history
                out.rows[table] = treated.table
                last = treated.last
                entry["tables_below_k"][table] = {
                    "before": below_k_at(treated.first, "fk"),
                    "after": below_k_at(last, "fk")
                    if last is not None
                    else rows_below_k_at(treated.table, columns),
                    "rounds": history,
                }
                if treated.reason:
                    problems.append(f"{name}: {table}: {treated.reason}")
                log(f"SCRA: {name}: {table}: rows below k per round {history}")
            passed = all(
                t["after"][str(k)] == 0 if str(k) in t["after"] else t["rounds"][-1] == 0
                for t in entry["tables_below_k"].values()
            )
        else:
            entry["below_k"] = {
                "before": below_k_at(before, fk_col(name), sc.unit),
                "after": below_k_at(after, fk_col(name), sc.unit),
            }
            passed = rounds[-1].below_k.get(name, 0) == 0
        entry["passed"] = passed
        if not passed and not reason:
            problems.append(f"{name}: units below k are left")
        scenarios.append(entry)

    t0 = time.monotonic()
    keys = [q for q in rules.person_keys()]
    per_key = key_figures(start, recoded, final, keys)
    too_much = [
        f"{q} loses {v['share_suppressed']:.1%} of its values"
        for q, v in per_key.items()
        if v["share_suppressed"] > rules.max_suppressed_share
    ]
    if too_much:
        problems.append(
            "more suppression than max_suppressed_share "
            f"({rules.max_suppressed_share:.0%}): " + "; ".join(too_much)
        )
    out.figures = {
        "k": rules.k,
        "scenarios": scenarios,
        "levels": level_figures(rules, levels),
        "lattice": [n.__dict__ for n in lattice],
        "rounds": [r.__dict__ for r in rounds],
        "keys": per_key,
        "information_loss": mean_loss(per_key),
        "max_suppressed_share": rules.max_suppressed_share,
        "transitions": {
            **transition_figures(yearly, yearly_mask, rules, conf_dir, levels),
            **end_figures(recoded, final),
        },
        "household_risk": (
            {
                "scenario": demographics,
                "before": household_risks(before, fk_col(demographics)),
                "after": household_risks(after, fk_col(demographics)),
            }
            if demographics
            else {}
        ),
        "panels": [
            {
                "table": t,
                "column": c,
                "populations": panel_risk(frames[src], "person_seq", c, rules.k),
            }
            for t, c in rules.panels.items()
            if (src := rules.tables[t].source) in frames
        ],
    }
    log(
        f"SCRA: figures (suppression, transitions, household and panel risk) in "
        f"{time.monotonic() - t0:.1f} s"
    )
    out.passed = not problems
    out.reason = "; ".join(problems)
    return out


def end_figures(recoded: DataFrame, final: DataFrame) -> dict:
    """The ends of follow-up whose kind (moved out, left the household, ended) is released:
    persons with an end before and with its kind still shown after treatment."""
    ended = F.col(EVENT_KIND).isNotNull() & (F.col(EVENT_KIND) != F.lit(NO_EVENT))
    before = recoded.filter(ended).count()
    after = final.filter(ended).count()
    kept = round(after / before, 4) if before else 1.0
    return {"end_of_follow_up_kind": {"before": before, "after": after, "kept": kept}}


def frames_of(frames: dict[str, DataFrame], rules: ReleaseRules) -> set[str]:
    """The released tables whose sources are present (all but after a purge)."""
    return {n for n, t in rules.tables.items() if t.source in frames}


def level_figures(rules: ReleaseRules, levels: dict[str, int]) -> dict:
    """Per key with a hierarchy: its level at the start and as chosen, with their names."""
    out = {}
    start = start_levels(rules)
    for q in rules.person_keys():
        h = rules.key_hierarchy(q)
        if h is None or not h.levels:
            continue
        out[q] = {
            "start": start[q],
            "chosen": levels[q],
            "start_label": describe(h, start[q], unit=UNITS.get(q)),
            "chosen_label": describe(h, levels[q], unit=UNITS.get(q)),
            "labels": {
                str(lv): describe(h, lv, unit=UNITS.get(q))
                for lv in range(start[q], rules.max_level(q) + 1)
            },
        }
    return out


def transition_figures(
    yearly: DataFrame,
    yearly_mask: DataFrame,
    rules: ReleaseRules,
    conf_dir: Path | str,
    levels: dict[str, int],
) -> dict:
    """Changes between consecutive years: at the starting levels, untreated, and as released
    (chosen levels, suppressed values missing)."""
    columns = [c for c in TRANSITIONS if c in rules.keys]
    tables = {c: rules.tables[rules.keys[c].table] for c in columns}
    start = start_levels(rules)

    def at(lv: dict[str, int]) -> DataFrame:
        return yearly.select(
            *ROW_KEY, *[key_column(c, tables[c], rules, conf_dir, lv) for c in columns]
        )

    before = transitions(at(start), columns)
    after = transitions(masked(at(levels), yearly_mask, ROW_KEY), columns)
    return {
        c: {
            "before": before[c],
            "after": after[c],
            "kept": round(after[c] / before[c], 4) if before[c] else 1.0,
        }
        for c in columns
    }
