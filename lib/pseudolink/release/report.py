"""The SCRA report: one self-contained HTML page from the release summary (scra.json).

Written for a disclosure reviewer: a verdict banner with its reason, what the gate measures
and guarantees, plots (embedded as base64 PNG, drawn with matplotlib's Agg canvas, no pyplot
state), then the figures as tables: the scenarios of the intruder model with their units
below k before and after treatment, the classes global recoding chose and the lattice it
evaluated, local suppression per key with the category tables, the transitions kept, the
household risk, the panels' residual risk and the treatment rounds.

Every string of the summary is escaped; a missing or malformed part (a refused run, an
empty summary) is shown as such. Counts get thousands separators; populations, years and
quarters never do (``2016``, not ``2,016``).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

BEFORE, AFTER, OVER = "#9e9e9e", "#1f6fb4", "#c62828"
SHOWN_K = ("2", "3", "5")
# The keys whose category tables are plotted (others fill in when these are absent).
PLOTTED_CATEGORIES = ("age_class", "residence")
# The noun of a scenario's "units" (the household scenario's count is shown bare: its
# figures count households below k, of the units the summary states).
UNIT_NAMES = {"person": "persons", "row": "rows"}
# Fields printed as they are, never with a thousands separator.
YEAR_LIKE = ("population", "year", "quarter")

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-bottom: 0.2em; }
.banner { padding: 0.8em 1.2em; border-radius: 6px; color: #fff; font-size: 1.3em; margin: 1em 0; }
.banner.pass { background: #2e7d32; }
.banner.fail { background: #c62828; }
.banner.unknown { background: #616161; }
.banner .reason { display: block; font-size: 0.75em; margin-top: 0.3em; }
.facts span { display: inline-block; margin: 0 1.5em 0.4em 0; }
.qi { display: inline-block; background: #eef3f8; border: 1px solid #c9d7e6; border-radius: 3px;
      padding: 0 0.4em; margin: 0 0.2em 0.2em 0; font-family: monospace; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f5f5f5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.changed td { background: #fff8e1; }
tr.chosen td { background: #e3f0fb; font-weight: 600; }
tr.over td, td.over { background: #fde7e4; }
td.ok { color: #2e7d32; font-weight: 600; }
td.bad { color: #c62828; font-weight: 600; }
.plots { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.plots figure { margin: 0; }
.plots img { width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
details { margin: 0.3em 0; }
summary { cursor: pointer; }
.note { color: #555; font-size: 0.9em; }
.missing { color: #888; font-style: italic; }
"""

EXPLANATION = (
    "<p><b>The intruder model.</b> Each <b>scenario</b> states what an intruder is assumed to "
    "know about a unit: a <b>person</b> (the key variables at the reference date, in the "
    "events scenario also the year and kind of the end of follow-up), a <b>household</b> "
    "(its size and type with the multiset of its members' keys) or a <b>row</b> of a released "
    "table (what an employer or a provider knows). A unit's <b>matches</b> are the released "
    "units of its population whose key combination is compatible with its own. In the person "
    "and row scenarios a missing (suppressed) value matches every category (sdcMicro's "
    "convention); in the household scenario a household's key is compared whole, an exact "
    "match, a missing value being a category of its own (fewer matches: the risk is "
    "overstated, the safe side). A unit with fewer than <b>k</b> matches is <b>below k</b>."
    "</p>"
    "<p><b>The treatment.</b> First <b>global recoding</b>, as ARX chooses it: every combination of"
    " the levels of the keys with a hierarchy (from their released level up to the coarsest "
    "allowed) is a node of a small lattice; the node with the least entropy loss (the mean over "
    "those keys of 1 &minus; H(level)/H(start)) is chosen among those leaving at most the "
    "suppression limit of the persons below k, and when none does, the coarsest, which leaves the "
    "fewest. Then <b>local suppression</b> per key combination below k, by importance, as "
    "sdcMicro's <code>localSuppression</code>: the least important key whose removal lifts the "
    "combination to k is set to missing, with its <b>ghost variables</b> (released columns that "
    "would give it back, sdcMicro's <code>ghostVars</code>); a household below k loses its members'"
    " keys; the rows of an employer's or a provider's table are treated the same way, per table. "
    "Suppression only adds missing values.</p>"
    "<p><b>What the gate guarantees.</b> The release passes only when, in every scenario, "
    "every unit has at least k matches among the released units of its population, and no "
    "key loses more than the maximum share of its values to suppression. <b>What it does not "
    "guarantee.</b> An intruder who knows more than a scenario states (more keys, other "
    "years, several scenarios at once, outside sources) is not covered; the quarterly KSZ and "
    "VDAB panels are released unchanged and their risk is measured only (below); nor is it "
    "tested whether the units sharing a key combination also share a sensitive value.</p>"
)

PANEL_TEXT = (
    "The quarterly KSZ and VDAB panels are the research material (&sect;17) and are released "
    "unchanged: the treatment does not touch them. The figures below measure what an "
    "intruder who knows a person's position in two quarters a year apart (the first quarter "
    "of the reference year and the same quarter a year later) could do: the persons of each "
    "population with a position in both quarters, how many of them are unique on that pair "
    "(the intruder finds them) and how many share it with fewer than k persons."
)

# A table column: (field, header, kind); kinds: text, label (printed as is), count, pct
# (a share shown as a percentage), dec (4 decimals), flag (yes / no), signed (a change).
Column = tuple[str, str, str]


def render_report(summary: dict[str, Any]) -> str:
    """The SCRA report of ``summary`` (the content of scra.json) as one HTML page."""
    s: Mapping[str, Any] = summary if isinstance(summary, Mapping) else {}
    release_id = str(s.get("release_id") or "release")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>SCRA report &ndash; {escape(release_id)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Small cell risk analysis &ndash; {escape(release_id)}</h1>",
        "<h2>Verdict</h2>",
        _banner(s),
        _facts(s),
        "<h2>What is measured</h2>",
        EXPLANATION,
        "<h2>At a glance</h2>",
        _plots(s),
        "<h2>Scenarios</h2>",
        _scenarios(s),
        "<h3>Units below k, before and after treatment</h3>",
        _below_k_table(s),
        "<h2>Global recoding: the classes chosen</h2>",
        _levels(s),
        "<h3>Lattice nodes evaluated</h3>",
        _lattice(s),
        "<h2>Local suppression per key</h2>",
        _keys(s),
        "<h3>Categories before and after treatment</h3>",
        _categories(s),
        "<h2>Transitions kept</h2>",
        _transitions(s),
        "<h2>Household risk</h2>",
        _household_risk(s),
        "<h2>Panels: residual risk (measured, released unchanged)</h2>",
        _panels(s),
        "<h2>Treatment rounds</h2>",
        _rounds(s),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# --- page parts ---------------------------------------------------------------------------


def _banner(s: Mapping[str, Any]) -> str:
    verdict = str(s.get("verdict") or "").lower()
    css = verdict if verdict in ("pass", "fail") else "unknown"
    text = verdict.upper() if verdict else "NO VERDICT"
    reason = str(s.get("reason") or "")
    if css == "pass" and not reason:
        reason = (
            f"In every scenario every unit has at least k = {s.get('k', '?')} matches among "
            "the released units of its population."
        )
    extra = f'<span class="reason">{escape(reason)}</span>' if reason else ""
    return f'<div class="banner {css}"><b>{escape(text)}</b>{extra}</div>'


def _facts(s: Mapping[str, Any]) -> str:
    scenarios = _scenario_list(s)
    facts = [f"<span><b>k</b> = {_cell(s.get('k', '?'))}</span>"]
    if scenarios:
        passed = sum(1 for sc in scenarios if sc.get("passed") is True)
        facts.append(f"<span><b>scenarios passed</b> {passed} of {len(scenarios)}</span>")
    if _is_num(s.get("information_loss")):
        facts.append(
            f"<span><b>information loss</b> (mean over the keys) "
            f"{_fmt(s['information_loss'], 'dec')}</span>"
        )
    if _is_num(s.get("max_suppressed_share")):
        facts.append(
            "<span><b>max. suppressed share</b> per key "
            f"{_fmt(s['max_suppressed_share'], 'pct')}</span>"
        )
    if s.get("seconds") is not None:
        facts.append(f"<span><b>run time</b> {escape(_duration(s['seconds']))}</span>")
    out = f'<div class="facts">{"".join(facts)}</div>'
    failing = [str(sc.get("name", "?")) for sc in scenarios if sc.get("passed") is False]
    if failing:
        chips = "".join(f'<span class="qi">{escape(n)}</span>' for n in failing)
        out += f'<div class="facts"><b>Scenarios that fail:</b> {chips}</div>'
    return out


def _scenarios(s: Mapping[str, Any]) -> str:
    scenarios = _scenario_list(s)
    if not scenarios:
        return f"<p>{_missing('No scenarios recorded.')}</p>"
    head = (
        "<tr><th>scenario</th><th>description</th><th>unit</th>"
        "<th>what the intruder knows</th><th>k</th><th>passed</th></tr>"
    )
    rows = []
    for sc in scenarios:
        known = []
        keys = _names(sc.get("keys"))
        if keys:
            known.append(f"keys: {_chips(keys)}")
        members = _names(sc.get("member_keys"))
        if members:
            known.append(f"members' keys: {_chips(members)}")
        if sc.get("event") is True:
            known.append("plus the year and kind of the end of follow-up")
        for table, columns in _dict(sc.get("tables")).items():
            known.append(f"table <b>{escape(str(table))}</b>: {_chips(_names(columns))}")
        rows.append(
            f"<tr><td><b>{escape(str(sc.get('name', '')))}</b></td>"
            f"<td>{escape(str(sc.get('description') or ''))}</td>"
            f"<td>{escape(str(sc.get('unit') or ''))}</td>"
            f"<td>{'<br>'.join(known) or _missing('not recorded')}</td>"
            f'<td class="num">{_cell(sc.get("k", s.get("k")))}</td>'
            f"{_verdict_cell(sc.get('passed'))}</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _below_k_table(s: Mapping[str, Any]) -> str:
    lines = _below_k_lines(s)
    if not lines:
        return f"<p>{_missing('No units below k recorded.')}</p>"
    thresholds = _thresholds(lines)
    n = len(thresholds)
    head = (
        '<tr><th rowspan="2">scenario</th><th rowspan="2">table</th>'
        '<th rowspan="2">units</th>'
        f'<th colspan="{n}">below k before treatment</th>'
        f'<th colspan="{n}">below k after treatment</th>'
        '<th rowspan="2">below the scenario\'s k after</th>'
        '<th rowspan="2">rows below k per treatment round</th></tr><tr>'
        + "".join(f"<th>k = {escape(t)}</th>" for t in thresholds) * 2
        + "</tr>"
    )
    rows = []
    for line in lines:
        before, after = line["before"], line["after"]
        units = after.get("units", before.get("units"))
        cells = [f'<td class="num">{_cell(before.get(t), "count")}</td>' for t in thresholds]
        cells += [
            f'<td class="num{" over" if t == line["k"] and _positive(after.get(t)) else ""}">'
            f"{_cell(after.get(t), 'count')}</td>"
            for t in thresholds
        ]
        at_k = after.get(line["k"])
        share = ""
        noun = line["unit_name"]
        if _is_num(at_k) and _is_num(units) and units and noun:
            share = f" ({_fmt(at_k / units, 'pct')})"
        rounds = " &rarr; ".join(_cell(r, "count") for r in line["rounds"])
        shown = " ".join(x for x in (_fmt(units, "count"), noun) if x)
        rows.append(
            f"<tr><td>{escape(line['scenario'])}</td><td>{escape(line['table'])}</td>"
            f'<td class="num">{escape(shown)}</td>'
            + "".join(cells)
            + f'<td class="num">{_cell(at_k, "count")}{escape(share)}</td>'
            f"<td>{rounds}</td></tr>"
        )
    note = (
        '<p class="note">Units whose key combination has fewer than k matches among the units '
        "of their population, at k = 2, 3 and 5; households are counted once. Before: at the "
        "released levels, untreated; after: as released.</p>"
    )
    return f"<table>{head}{''.join(rows)}</table>{note}"


def _levels(s: Mapping[str, Any]) -> str:
    levels = _dict(s.get("levels"))
    if not levels:
        return f"<p>{_missing('No recoding levels recorded.')}</p>"
    rows, lines = [], []
    for key, info in levels.items():
        info = _dict(info)
        start = _level_label(str(key), info.get("start"), levels)
        chosen = _level_label(str(key), info.get("chosen"), levels)
        changed = info.get("start") != info.get("chosen")
        lines.append(
            f"<li><b>{escape(str(key))}</b>: {escape(start)} "
            + (f"&rarr; {escape(chosen)}" if changed else "(unchanged)")
            + "</li>"
        )
        rows.append(
            f"<tr{' class=changed' if changed else ''}><td>{escape(str(key))}</td>"
            f"<td>{escape(start)}</td><td>{'&rarr;' if changed else '='}</td>"
            f"<td>{escape(chosen)}</td></tr>"
        )
    head = "<tr><th>key</th><th>released classes at the start</th><th></th><th>chosen</th></tr>"
    note = (
        '<p class="note">Keys without a hierarchy are released as they are. A key of an '
        "annual table is released at the chosen classes in every year.</p>"
    )
    return f"<ul>{''.join(lines)}</ul><table>{head}{''.join(rows)}</table>{note}"


def _lattice(s: Mapping[str, Any]) -> str:
    nodes = _list(s.get("lattice"))
    if not nodes:
        return f"<p>{_missing('No lattice recorded.')}</p>"
    levels = _dict(s.get("levels"))
    keys = _lattice_keys(nodes, levels)
    head = (
        "<tr><th>node</th>"
        + "".join(f"<th>{escape(k)}</th>" for k in keys)
        + "<th>information loss</th><th>persons below k</th><th>share</th><th>chosen</th></tr>"
    )
    rows = []
    for i, node in enumerate(nodes, 1):
        node_levels = _dict(node.get("levels"))
        chosen = node.get("chosen") is True
        cells = "".join(
            f"<td>{escape(_level_label(k, node_levels.get(k), levels))}</td>" for k in keys
        )
        rows.append(
            f"<tr{' class=chosen' if chosen else ''}>"
            f'<td class="num">{i}</td>{cells}'
            f'<td class="num">{_cell(node.get("loss"), "dec")}</td>'
            f'<td class="num">{_cell(node.get("persons_below_k"), "count")}</td>'
            f'<td class="num">{_cell(node.get("share"), "pct")}</td>'
            f"<td>{'chosen' if chosen else ''}</td></tr>"
        )
    note = (
        '<p class="note">In order of loss. Loss: the mean over the recoded keys of '
        "1 &minus; H(level)/H(start); persons below k in a person scenario before local "
        "suppression, and their share of the persons. The coarsest node is evaluated first; "
        "when it leaves more than the suppression limit no node can do better (coarsening "
        "never lowers a frequency) and the others are not evaluated (left blank).</p>"
    )
    return f"<table>{head}{''.join(rows)}</table>{note}"


KEY_COLUMNS: tuple[Column, ...] = (
    ("key", "key", "text"),
    ("values", "values", "count"),
    ("suppressed", "suppressed", "count"),
    ("share_suppressed", "share suppressed", "pct"),
    ("classes_before", "classes before", "count"),
    ("classes_after", "classes after", "count"),
    ("information_loss", "information loss", "dec"),
)


def _keys(s: Mapping[str, Any]) -> str:
    keys = _dict(s.get("keys"))
    if not keys:
        return f"<p>{_missing('No per-key figures recorded.')}</p>"
    limit = s.get("max_suppressed_share")
    rows = [{"key": str(k), **_dict(v)} for k, v in keys.items()]

    def over(row: Mapping[str, Any]) -> bool:
        share = row.get("share_suppressed")
        return _is_num(share) and _is_num(limit) and share > limit

    out = _table(KEY_COLUMNS, rows, row_class=lambda r: "over" if over(r) else "")
    note = (
        "Information loss: ARX's non-uniform entropy, normalised (0: nothing lost, 1: every "
        "value suppressed), from recoding and suppression together."
    )
    if _is_num(limit):
        note += f" Shaded: more than {escape(_fmt(limit, 'pct'))} of the values suppressed."
    if _is_num(s.get("information_loss")):
        note += f" Mean over the keys: {escape(_fmt(s['information_loss'], 'dec'))}."
    return out + f'<p class="note">{note}</p>'


CATEGORY_COLUMNS: tuple[Column, ...] = (
    ("value", "value", "label"),
    ("before", "before", "count"),
    ("after", "after", "count"),
    ("change", "change", "signed"),
)


def _categories(s: Mapping[str, Any]) -> str:
    keys = _dict(s.get("keys"))
    parts = []
    for key, info in keys.items():
        info = _dict(info)
        cats = _category_rows(info)
        if not cats:
            continue
        title = (
            f"<b>{escape(str(key))}</b>: {_fmt(info.get('classes_before'), 'count')} classes "
            f"&rarr; {_fmt(info.get('classes_after'), 'count')}, "
            f"{_fmt(info.get('suppressed'), 'count')} values suppressed "
            f"({_fmt(info.get('share_suppressed'), 'pct')})"
        )
        parts.append(
            f"<details><summary>{title}</summary>{_table(CATEGORY_COLUMNS, cats)}</details>"
        )
    if not parts:
        return f"<p>{_missing('No category tables recorded.')}</p>"
    note = (
        '<p class="note">Per key, the units per category at the start (released classes, '
        "untreated) and as released (chosen classes, suppressed values counted as "
        "(missing)). Click a key to open its table.</p>"
    )
    return note + "".join(parts)


TRANSITION_COLUMNS: tuple[Column, ...] = (
    ("column", "column", "text"),
    ("before", "changes before", "count"),
    ("after", "changes after", "count"),
    ("kept", "kept", "pct"),
)


def _transitions(s: Mapping[str, Any]) -> str:
    rows = [{"column": str(c), **_dict(v)} for c, v in _dict(s.get("transitions")).items()]
    note = (
        '<p class="note">Changes between consecutive years of a person (both values present): '
        "at the start (untreated) and as released. What a longitudinal analysis keeps.</p>"
    )
    return _table(TRANSITION_COLUMNS, rows, empty="No transitions recorded.") + note


def _household_risk(s: Mapping[str, Any]) -> str:
    risk = _dict(s.get("household_risk"))
    rows = [
        {"side": side, **_dict(risk.get(side))}
        for side in ("before", "after")
        if _dict(risk.get(side))
    ]
    columns: tuple[Column, ...] = (
        ("side", "treatment", "text"),
        ("max", "highest", "dec"),
        ("mean", "mean", "dec"),
    )
    scenario = risk.get("scenario")
    note = (
        '<p class="note">sdcMicro\'s household risk, 1 &minus; &prod;(1 &minus; 1/f<sub>k</sub>) '
        "over a household's members at the reference date"
        + (
            f", from the individual risk in the scenario <b>{escape(str(scenario))}</b>"
            if scenario
            else ""
        )
        + ". A household with a member without a match elsewhere has risk 1.</p>"
    )
    return _table(columns, rows, empty="No household risk recorded.") + note


PANEL_COLUMNS: tuple[Column, ...] = (
    ("population", "population", "label"),
    ("persons", "persons in both quarters", "count"),
    ("unique", "unique", "count"),
    ("unique_share", "unique (%)", "pct"),
    ("below_k", "below k", "count"),
    ("below_k_share", "below k (%)", "pct"),
)


def _panels(s: Mapping[str, Any]) -> str:
    parts = [f"<p>{PANEL_TEXT}</p>"]
    panels = _list(s.get("panels"))
    if not panels:
        parts.append(f"<p>{_missing('No panel figures recorded.')}</p>")
    for panel in panels:
        rows = []
        for p in _list(panel.get("populations")):
            persons = p.get("persons")
            row = dict(p)
            for field in ("unique", "below_k"):
                value = p.get(field)
                if _is_num(value) and _is_num(persons) and persons:
                    row[f"{field}_share"] = value / persons
            rows.append(row)
        parts.append(
            f"<h3>{escape(str(panel.get('table', '?')))}: position "
            f"<code>{escape(str(panel.get('column', '?')))}</code></h3>"
        )
        parts.append(_table(PANEL_COLUMNS, rows, empty="No populations recorded."))
    return "".join(parts)


def _rounds(s: Mapping[str, Any]) -> str:
    rounds = _list(s.get("rounds"))
    names = _ordered([], (str(n) for r in rounds for n in _dict(r.get("below_k"))))
    rows = [
        {
            "round": str(i),
            "phase": r.get("phase"),
            "scenario": r.get("scenario"),
            "detail": r.get("detail"),
            **{f"below:{n}": _dict(r.get("below_k")).get(n) for n in names},
        }
        for i, r in enumerate(rounds)
    ]
    columns: list[Column] = [
        ("round", "round", "label"),
        ("phase", "phase", "text"),
        ("scenario", "scenario treated", "text"),
        ("detail", "detail", "text"),
    ]
    columns += [(f"below:{n}", f"{n}: below k", "count") for n in names]
    note = (
        '<p class="note">The person and household scenarios, after each round (one scenario '
        "treated per round, the first that fails). The row scenarios' rounds are in the "
        "scenario table above.</p>"
    )
    return _table(columns, rows, empty="No treatment rounds recorded.") + note


def _table(
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    empty: str = "Nothing to show.",
    row_class: Callable[[Mapping[str, Any]], str] = lambda _: "",
) -> str:
    body = []
    for row in rows:
        cells = []
        for key, _, kind in columns:
            value = row.get(key)
            numeric = kind in ("count", "pct", "dec", "signed") and _is_num(value)
            css = ' class="num"' if numeric else ""
            cells.append(f"<td{css}>{_cell(value, kind, key)}</td>")
        extra = row_class(row)
        body.append(f"<tr{f' class={extra}' if extra else ''}>{''.join(cells)}</tr>")
    if not body:
        return f"<p>{_missing(empty)}</p>"
    head = "".join(f"<th>{escape(label)}</th>" for _, label, _ in columns)
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


# --- plots --------------------------------------------------------------------------------


def _plots(s: Mapping[str, Any]) -> str:
    keys = _dict(s.get("keys"))
    with_categories = [str(k) for k, v in keys.items() if _category_rows(_dict(v))]
    plotted = [k for k in PLOTTED_CATEGORIES if k in with_categories]
    plotted += [k for k in with_categories if k not in plotted]
    plotted = (plotted + ["", ""])[:2]
    figures = [
        (
            _plot_scenarios(s),
            "Units below the scenario's k before and after treatment (row scenarios per table).",
        ),
        (
            _plot_suppressed(s),
            "Share of each key's values suppressed locally (dashed: the maximum allowed).",
        ),
        *[
            (
                _plot_categories(key, _dict(keys.get(key))),
                f"Categories of {key or 'a key'} before and after treatment.",
            )
            for key in plotted
        ],
        (
            _plot_transitions(_dict(s.get("transitions"))),
            "Changes between consecutive years before and after treatment, with the share kept.",
        ),
        (
            _plot_panels(_list(s.get("panels"))),
            "Panels (released unchanged): share of the persons unique and below k on their "
            "positions in two quarters a year apart.",
        ),
        (
            _plot_lattice(_list(s.get("lattice"))),
            "Lattice nodes of global recoding: information loss against persons below k.",
        ),
        (
            _plot_rounds(s),
            "Units below k after each treatment round, per scenario (dashed: rows of the "
            "row scenarios' tables).",
        ),
    ]
    items = [
        f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{_png(fig)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
        for fig, caption in figures
    ]
    return f'<div class="plots">{"".join(items)}</div>'


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=(6.4, 3.8), dpi=100, layout="constrained")
    return fig, fig.subplots()


def _png(fig: Figure) -> str:
    canvas = FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _no_data(ax: Any, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#888")
    ax.set_xticks([])
    ax.set_yticks([])


def _counts_axis(axis: Any) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _percent_axis(axis: Any) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.0f} %"))


def _grouped_bars(ax: Any, labels: list[str], series: list[tuple[str, list[float], str]]) -> list:
    width = 0.8 / max(1, len(series))
    bars = []
    for j, (name, values, colour) in enumerate(series):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(labels))]
        bars.append(ax.bar(xs, values, width=width, label=_mpl(name), color=colour))
    ax.set_xticks(range(len(labels)), [_mpl(x) for x in labels])
    return bars


def _plot_scenarios(s: Mapping[str, Any]) -> Figure:
    fig, ax = _figure()
    ax.set_title("Units below k per scenario")
    lines = _below_k_lines(s)
    if not lines:
        _no_data(ax)
        return fig
    labels = [f"{x['scenario']}\n{x['table']}" if x["table"] else x["scenario"] for x in lines]
    before = [_num(x["before"].get(x["k"])) for x in lines]
    after = [_num(x["after"].get(x["k"])) for x in lines]
    bars = _grouped_bars(
        ax, labels, [("before treatment", before, BEFORE), ("after treatment", after, AFTER)]
    )
    for group in bars:
        ax.bar_label(group, labels=[f"{v:,.0f}" for v in group.datavalues], fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_ylabel("units below the scenario's k")
    _counts_axis(ax.yaxis)
    ax.legend(fontsize="small")
    return fig


def _plot_suppressed(s: Mapping[str, Any]) -> Figure:
    fig, ax = _figure()
    ax.set_title("Share suppressed per key")
    keys = _dict(s.get("keys"))
    shares = {str(k): _dict(v).get("share_suppressed") for k, v in keys.items()}
    shares = {k: v for k, v in shares.items() if _is_num(v)}
    if not shares:
        _no_data(ax, "no suppressions recorded")
        return fig
    limit = s.get("max_suppressed_share")
    names = list(shares)
    colours = [OVER if _is_num(limit) and shares[n] > limit else AFTER for n in names]
    ax.barh(range(len(names)), [shares[n] for n in names], color=colours)
    ax.set_yticks(range(len(names)), [_mpl(n) for n in names])
    ax.invert_yaxis()
    if _is_num(limit):
        ax.axvline(limit, color=OVER, ls="--", lw=1)
    _percent_axis(ax.xaxis)
    ax.set_xlabel("values set to missing")
    return fig


def _plot_categories(key: str, info: Mapping[str, Any]) -> Figure:
    fig, ax = _figure()
    ax.set_title(_mpl(f"Categories of {key}" if key else "Categories"))
    cats = _category_rows(info)
    if not cats:
        _no_data(ax)
        return fig
    labels = [str(c.get("value")) for c in cats]
    _grouped_bars(
        ax,
        labels,
        [
            ("before treatment", [_num(c.get("before")) for c in cats], BEFORE),
            ("after treatment", [_num(c.get("after")) for c in cats], AFTER),
        ],
    )
    ax.tick_params(axis="x", labelrotation=90, labelsize=7 if len(labels) > 12 else 9)
    ax.set_ylabel("units")
    _counts_axis(ax.yaxis)
    ax.legend(fontsize="small")
    return fig


def _plot_transitions(transitions: Mapping[str, Any]) -> Figure:
    fig, ax = _figure()
    ax.set_title("Transitions kept")
    rows = {str(c): _dict(v) for c, v in transitions.items() if _dict(v)}
    if not rows:
        _no_data(ax)
        return fig
    names = list(rows)
    bars = _grouped_bars(
        ax,
        names,
        [
            ("before treatment", [_num(rows[n].get("before")) for n in names], BEFORE),
            ("after treatment", [_num(rows[n].get("after")) for n in names], AFTER),
        ],
    )
    kept = [rows[n].get("kept") for n in names]
    ax.bar_label(bars[1], labels=[_fmt(k, "pct") if _is_num(k) else "" for k in kept], fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylabel("changes between consecutive years")
    _counts_axis(ax.yaxis)
    ax.legend(fontsize="small")
    return fig


def _plot_panels(panels: list[dict[str, Any]]) -> Figure:
    fig, ax = _figure()
    ax.set_title("Panels: residual risk")
    labels, unique, below = [], [], []
    for panel in panels:
        for p in _list(panel.get("populations")):
            persons = p.get("persons")
            if not (_is_num(persons) and persons):
                continue
            labels.append(f"{panel.get('table', '?')}\n{_fmt(p.get('population'), 'label')}")
            unique.append(_num(p.get("unique")) / persons)
            below.append(_num(p.get("below_k")) / persons)
    if not labels:
        _no_data(ax)
        return fig
    _grouped_bars(ax, labels, [("unique", unique, OVER), ("below k", below, "#e08214")])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylabel("share of the persons")
    _percent_axis(ax.yaxis)
    ax.legend(fontsize="small")
    return fig


def _plot_lattice(nodes: list[dict[str, Any]]) -> Figure:
    fig, ax = _figure()
    ax.set_title("Global recoding: lattice nodes")
    points = [
        (n.get("loss"), n.get("persons_below_k"), n.get("chosen") is True)
        for n in nodes
        if _is_num(n.get("loss")) and _is_num(n.get("persons_below_k"))
    ]
    if not points:
        _no_data(ax)
        return fig
    others = [(x, y) for x, y, chosen in points if not chosen]
    chosen = [(x, y) for x, y, c in points if c]
    if others:
        ax.scatter(*zip(*others, strict=True), color=BEFORE, label="evaluated", zorder=2)
    if chosen:
        ax.scatter(
            *zip(*chosen, strict=True), color=AFTER, s=80, marker="*", label="chosen", zorder=3
        )
    ax.set_xlabel("information loss of the recoding")
    ax.set_ylabel("persons below k")
    _counts_axis(ax.yaxis)
    ax.legend(fontsize="small")
    return fig


def _plot_rounds(s: Mapping[str, Any]) -> Figure:
    fig, ax = _figure()
    ax.set_title("Units below k per treatment round")
    rounds = _list(s.get("rounds"))
    names = _ordered([], (str(n) for r in rounds for n in _dict(r.get("below_k"))))
    drawn = False
    for i, name in enumerate(names):
        points = [
            (x, _dict(r.get("below_k")).get(name))
            for x, r in enumerate(rounds)
            if _is_num(_dict(r.get("below_k")).get(name))
        ]
        if points:
            ax.plot(
                *zip(*points, strict=True), marker="o", ms=3, color=f"C{i % 10}", label=_mpl(name)
            )
            drawn = True
    for j, line in enumerate(x for x in _below_k_lines(s) if x["rounds"]):
        points = [(x, v) for x, v in enumerate(line["rounds"]) if _is_num(v)]
        if points:
            label = _mpl(f"{line['scenario']}: {line['table']}")
            colour = f"C{(len(names) + j) % 10}"
            ax.plot(*zip(*points, strict=True), "--", marker="s", ms=3, color=colour, label=label)
            drawn = True
    if not drawn:
        _no_data(ax, "treatment did not run")
        return fig
    ax.set_xlabel("round")
    ax.set_ylabel("units below k")
    ax.xaxis.get_major_locator().set_params(integer=True)
    _counts_axis(ax.yaxis)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    return fig


# --- the summary's parts --------------------------------------------------------------------


def _scenario_list(s: Mapping[str, Any]) -> list[dict[str, Any]]:
    return _list(s.get("scenarios"))


def _below_k_lines(s: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One line per person or household scenario and per table of a row scenario: its
    before and after figures (keys "2", "3", "5", "units"), its k and its rounds."""
    lines = []
    for sc in _scenario_list(s):
        k = str(sc.get("k", s.get("k", "")))
        unit = str(sc.get("unit") or "")
        base = {"scenario": str(sc.get("name", "")), "k": k, "unit_name": UNIT_NAMES.get(unit, "")}
        if sc.get("tables_below_k") is not None or unit == "row":
            for table, figures in _dict(sc.get("tables_below_k")).items():
                figures = _dict(figures)
                lines.append(
                    {
                        **base,
                        "table": str(table),
                        "unit_name": "rows",
                        "before": _str_keys(figures.get("before")),
                        "after": _str_keys(figures.get("after")),
                        "rounds": list(figures.get("rounds") or [])
                        if isinstance(figures.get("rounds"), list)
                        else [],
                    }
                )
        else:
            below = _dict(sc.get("below_k"))
            lines.append(
                {
                    **base,
                    "table": "",
                    "before": _str_keys(below.get("before")),
                    "after": _str_keys(below.get("after")),
                    "rounds": [],
                }
            )
    return lines


def _thresholds(lines: list[dict[str, Any]]) -> list[str]:
    found = {t for line in lines for side in ("before", "after") for t in line[side] if t.isdigit()}
    return sorted(found or set(SHOWN_K), key=int)


def _lattice_keys(nodes: list[dict[str, Any]], levels: Mapping[str, Any]) -> list[str]:
    """The keys worth a column: those with a hierarchy (in ``levels``) and any other whose
    level varies between the nodes."""
    seen: dict[str, set] = {}
    for node in nodes:
        for key, value in _dict(node.get("levels")).items():
            seen.setdefault(str(key), set()).add(repr(value))
    return [k for k in seen if k in levels or len(seen[k]) > 1]


def _level_label(key: str, level: Any, levels: Mapping[str, Any]) -> str:
    """A level of ``key`` as its classes: the summary's label for it (``labels`` by level
    when given, else the start or chosen label), else described from the start."""
    if level is None:
        return ""
    info = _dict(levels.get(key))
    labels = _dict(info.get("labels"))
    if str(level) in labels:
        return str(labels[str(level)])
    for side in ("chosen", "start"):
        if info.get(side) == level and info.get(f"{side}_label"):
            return str(info[f"{side}_label"])
    start, start_label = info.get("start"), info.get("start_label")
    if _is_num(level) and _is_num(start) and start_label and level != start:
        steps = int(level - start)
        direction = "coarser" if steps > 0 else "finer"
        n = abs(steps)
        return f"{start_label}, {n} step{'s' if n != 1 else ''} {direction}"
    if not info:
        return "as released" if level == 0 else f"hierarchy step {level}"
    return f"hierarchy step {level}"


def _category_rows(info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The category table of a key with the change, open lower classes (``<15``) first."""
    rows = []
    cats = _list(info.get("categories"))
    cats.sort(key=lambda c: not str(c.get("value", "")).startswith("<"))  # stable
    for c in cats:
        before, after = c.get("before"), c.get("after")
        change = after - before if _is_num(before) and _is_num(after) else None
        rows.append({**c, "value": str(c.get("value", "")), "change": change})
    return rows


# --- helpers ------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    return [dict(r) for r in value if isinstance(r, Mapping)]


def _names(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def _str_keys(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in _dict(value).items()}


def _ordered(first: list[str], rest: Iterable[str]) -> list[str]:
    """``first`` then the new names of ``rest``, each once."""
    return list(dict.fromkeys([*first, *rest]))


def _chips(names: list[str]) -> str:
    return "".join(f'<span class="qi">{escape(n)}</span>' for n in names)


def _verdict_cell(passed: Any) -> str:
    if passed is True:
        return '<td class="ok">yes</td>'
    if passed is False:
        return '<td class="bad">no</td>'
    return f"<td>{_missing('unknown')}</td>"


def _positive(value: Any) -> bool:
    return _is_num(value) and value > 0


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: Any) -> float:
    return float(value) if _is_num(value) and math.isfinite(value) else 0.0


def _year_like(key: str) -> bool:
    name = key.lower()
    return any(name == y or name.endswith(f"_{y}") or name.startswith(f"{y}_") for y in YEAR_LIKE)


def _fmt(value: Any, kind: str = "text", key: str = "") -> str:
    """``value`` as shown: counts with thousands separators; ``label`` (and any field named
    like a population, year or quarter) as it is; ``pct`` a share as a percentage."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not _is_num(value):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if kind == "label" or _year_like(key):
        return str(int(value)) if float(value).is_integer() else str(value)
    if kind == "pct":
        return f"{100 * value:.1f} %"
    if kind == "dec":
        return f"{value:.4f}"
    if kind == "signed" and value:
        return f"{int(value):+,}" if float(value).is_integer() else f"{value:+,.2f}"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def _cell(value: Any, kind: str = "text", key: str = "") -> str:
    return escape(_fmt(value, kind, key))


def _mpl(text: str) -> str:
    """Text for matplotlib, without mathtext (a ``$`` is drawn as it is)."""
    return str(text).replace("$", r"\$")


def _missing(text: str) -> str:
    return f'<span class="missing">{escape(text)}</span>'


def _duration(seconds: Any) -> str:
    if not _is_num(seconds):
        return str(seconds)
    minutes, rest = divmod(float(seconds), 60)
    return f"{int(minutes)} min {rest:.0f} s" if minutes else f"{rest:.1f} s"
