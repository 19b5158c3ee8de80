"""The SCRA report: one self-contained HTML page from the release summary (scra.json).

Written for a disclosure reviewer who would rather look than read: a verdict banner, the
levels the treatment chose, four plots (embedded as base64 PNG, drawn with matplotlib's Agg
canvas, no pyplot state) and then the same figures as tables. Every string of the summary
is escaped; empty lists and a missing "after" side (treatment never ran) are shown as such.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

CELL_SIZES = ("1", "2", "3", "4", "5-9", "10-19", "20+")
MAX_OFFENDING = 50
BEFORE, AFTER = "#9e9e9e", "#1f6fb4"
SMALL = "#f3c6c0"

RISK_COLUMNS = (
    ("population", "population"),
    ("year", "year"),
    ("records", "records"),
    ("records_below_k", "records in small cells"),
    ("cells_below_k", "small cells"),
    ("expected_reidentifications", "expected re-identifications (ER)"),
    ("global_risk", "global risk (ER / n)"),
    ("max_household_risk", "max household risk"),
    ("mean_household_risk", "mean household risk"),
)
LONGITUDINAL_COLUMNS = (
    ("population", "population"),
    ("persons", "persons"),
    ("persons_below_k", "persons in small trajectories"),
    ("longitudinal_only", "at risk only across the years"),
)
ROUND_COLUMNS = (
    ("phase", "phase"),
    ("detail", "detail"),
    ("records_below_k", "records in small cells"),
    ("persons_below_k", "persons in small trajectories"),
)
# Columns shown with a fixed number of decimals (the others by magnitude).
DECIMALS = {
    "expected_reidentifications": 1,
    "global_risk": 4,
    "max_household_risk": 4,
    "mean_household_risk": 4,
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
.banner { padding: 0.8em 1.2em; border-radius: 6px; color: #fff; font-size: 1.3em; margin: 1em 0; }
.banner.pass { background: #2e7d32; }
.banner.fail { background: #c62828; }
.banner.unknown { background: #616161; }
.banner .reason { display: block; font-size: 0.75em; margin-top: 0.3em; }
.facts span { display: inline-block; margin: 0 1.5em 0.4em 0; }
.qi { display: inline-block; background: #eef3f8; border: 1px solid #c9d7e6; border-radius: 3px;
      padding: 0 0.4em; margin: 0 0.2em 0.2em 0; font-family: monospace; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; }
th { background: #f5f5f5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.changed td { background: #fff8e1; }
.plots { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.plots figure { margin: 0; }
.plots img { width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
.note { color: #555; font-size: 0.9em; }
.missing { color: #888; font-style: italic; }
"""

EXPLANATION = (
    "Definitions follow sdcMicro, for whole populations without sampling weights. "
    "<b>f<sub>k</sub></b> is the number of records of the same population and year whose "
    "key combination (the quasi-identifiers) matches the record's; a missing value matches "
    "every category. A record with f<sub>k</sub> &lt; k is in a <b>small cell</b>. The "
    "<b>individual risk</b> of a record is 1/f<sub>k</sub>; the <b>expected "
    "re-identifications</b> (ER) are the sum of the individual risks, the global risk is "
    "ER divided by the records. The <b>household risk</b> is 1 &minus; &prod;(1 &minus; "
    "r<sub>i</sub>) over the household's members, given to every member. The "
    "<b>longitudinal risk</b> counts the persons of a population that share a person's "
    "trajectory: the list of (year, key combination) over the years (there a missing value "
    "is its own category, which errs on the safe side). Treatment first recodes variables "
    "globally (one level of their hierarchy at a time), then suppresses values locally in "
    "the small cells."
)


def render_report(summary: dict[str, Any]) -> str:
    """The SCRA report of ``summary`` (the content of scra.json) as one HTML page."""
    s = summary or {}
    release_id = str(s.get("release_id") or "release")
    qis = [str(q) for q in s.get("quasi_identifiers") or []]
    failed = str(s.get("verdict", "")).lower() == "fail"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>SCRA report &ndash; {escape(release_id)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Small cell risk analysis &ndash; {escape(release_id)}</h1>",
        _banner(s),
        _facts(s, qis),
        f'<p class="note">{EXPLANATION}</p>',
        "<h2>Levels of the quasi-identifiers</h2>",
        _levels_table(s, qis),
        "<h2>At a glance</h2>",
        _plots(s),
        "<h2>Risk per population and year</h2>",
        _sided_table(_section(s, "risk"), RISK_COLUMNS),
        "<h2>Longitudinal risk per population</h2>",
        _sided_table(_section(s, "longitudinal"), LONGITUDINAL_COLUMNS),
        "<h2>Information loss</h2>",
        _information_loss(s),
        "<h2>Treatment rounds</h2>",
        _table(ROUND_COLUMNS, _list(s.get("rounds")), empty="No treatment rounds recorded."),
    ]
    if failed:
        parts += ["<h2>Key combinations still in small cells</h2>", _offending(s, qis)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --- page parts ---------------------------------------------------------------------------


def _banner(s: Mapping[str, Any]) -> str:
    verdict = str(s.get("verdict") or "").lower()
    css = verdict if verdict in ("pass", "fail") else "unknown"
    text = verdict.upper() if verdict else "NO VERDICT"
    reason = str(s.get("reason") or "")
    if css == "pass" and not reason:
        reason = f"No record or person is left in a cell smaller than k = {s.get('k', '?')}."
    extra = f'<span class="reason">{escape(reason)}</span>' if reason else ""
    return f'<div class="banner {css}"><b>{escape(text)}</b>{extra}</div>'


def _facts(s: Mapping[str, Any], qis: list[str]) -> str:
    chips = "".join(f'<span class="qi">{escape(q)}</span>' for q in qis) or _missing("none")
    facts = [f"<span><b>k</b> = {escape(str(s.get('k', '?')))}</span>"]
    if s.get("seconds") is not None:
        facts.append(f"<span><b>run time</b> {escape(_duration(s['seconds']))}</span>")
    records = (s.get("information_loss") or {}).get("records")
    if records is not None:
        facts.append(f"<span><b>records</b> {escape(_fmt(records))}</span>")
    return (
        f'<div class="facts">{"".join(facts)}</div>'
        f'<div class="facts"><b>Quasi-identifiers:</b> {chips}</div>'
    )


def _levels_table(s: Mapping[str, Any], qis: list[str]) -> str:
    start = s.get("start_levels") or {}
    final = s.get("levels") or {}
    names = _ordered(qis, [*start, *final])
    if not names:
        return f"<p>{_missing('No levels recorded.')}</p>"
    rows = []
    for name in names:
        a, b = start.get(name), final.get(name)
        changed = a is not None and b is not None and a != b
        arrow = "&rarr;" if changed else "="
        rows.append(
            f"<tr{' class=changed' if changed else ''}><td>{escape(str(name))}</td>"
            f'<td class="num">{_cell(a)}</td><td>{arrow}</td><td class="num">{_cell(b)}</td></tr>'
        )
    head = "<tr><th>variable</th><th>start level</th><th></th><th>final level</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _sided_table(sides: dict[str, list[dict[str, Any]]], columns: Sequence[tuple[str, str]]) -> str:
    rows = [{"side": side, **row} for side in ("before", "after") for row in sides[side]]
    out = _table((("side", "treatment"), *columns), rows, empty="No figures recorded.")
    if sides["before"] and not sides["after"]:
        out += f'<p class="note">{_missing("No figures after treatment: it did not run.")}</p>'
    return out


def _information_loss(s: Mapping[str, Any]) -> str:
    loss = s.get("information_loss") or {}
    if not loss:
        return f"<p>{_missing('No information loss recorded.')}</p>"
    records, changed = loss.get("records"), loss.get("records_changed")
    share = ""
    if _is_num(records) and _is_num(changed) and records:
        share = f" ({100 * changed / records:.2f} %)"
    overview = (
        "<table>"
        f'<tr><th>records</th><td class="num">{_cell(records)}</td></tr>'
        f'<tr><th>records changed</th><td class="num">{_cell(changed)}{share}</td></tr>'
        "</table>"
    )
    suppressions = loss.get("suppressions") or {}
    merged = loss.get("classes_merged") or {}
    levels = loss.get("levels") or {}
    names = _ordered(list(suppressions), [*merged, *levels])
    if not names:
        return overview
    rows = [
        {
            "variable": n,
            "suppressions": suppressions.get(n),
            "classes_merged": merged.get(n),
            "level": levels.get(n),
        }
        for n in names
    ]
    columns = (
        ("variable", "variable"),
        ("suppressions", "values suppressed"),
        ("classes_merged", "classes merged by recoding"),
        ("level", "level"),
    )
    return overview + _table(columns, rows)


def _offending(s: Mapping[str, Any], qis: list[str]) -> str:
    rows = _list(s.get("offending"))
    if not rows:
        return f"<p>{_missing('No key combinations listed.')}</p>"
    keys = _ordered(qis, [k for row in rows for k in (row.get("keys") or {})])
    columns = [("population", "population"), ("year", "year")]
    columns += [(f"key:{k}", k) for k in keys] + [("records", "records")]
    flat = [
        {
            "population": row.get("population"),
            "year": row.get("year"),
            "records": row.get("records"),
            **{f"key:{k}": (row.get("keys") or {}).get(k) for k in keys},
        }
        for row in rows[:MAX_OFFENDING]
    ]
    note = ""
    if len(rows) > MAX_OFFENDING:
        note = f'<p class="note">The first {MAX_OFFENDING} of {len(rows)} combinations.</p>'
    missing = '<p class="note">An empty key is missing (it matches every category).</p>'
    return _table(columns, flat, blank="(missing)") + note + missing


def _table(
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Mapping[str, Any]],
    empty: str = "Nothing to show.",
    blank: str = "",
) -> str:
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            css = ' class="num"' if _is_num(value) else ""
            shown = _missing(blank) if value is None and blank else _cell(value, key)
            cells.append(f"<td{css}>{shown}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        return f"<p>{_missing(empty)}</p>"
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


# --- plots --------------------------------------------------------------------------------


def _plots(s: Mapping[str, Any]) -> str:
    k = s.get("k")
    figures = [
        (
            _plot_cell_sizes(_section(s, "cell_sizes"), k),
            "Records per cell size, summed over the populations (shaded: cells smaller than k).",
        ),
        (
            _plot_risk(_section(s, "risk")),
            "Records in small cells and expected "
            "re-identifications per year, one line per population (dashed: before treatment).",
        ),
        (
            _plot_suppressions(s.get("information_loss") or {}),
            "Values suppressed per variable by local suppression.",
        ),
        (
            _plot_rounds(_list(s.get("rounds"))),
            "Records (and persons) in small cells after each treatment round.",
        ),
    ]
    items = [
        f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{_png(fig)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
        for fig, caption in figures
    ]
    return f'<div class="plots">{"".join(items)}</div>'


def _figure(ncols: int = 1) -> tuple[Figure, list[Any]]:
    fig = Figure(figsize=(6.4 if ncols == 1 else 7.6, 3.6), dpi=100, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _png(fig: Figure) -> str:
    canvas = FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _no_data(ax: Any, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#888")
    ax.set_xticks([])
    ax.set_yticks([])


def _plot_cell_sizes(sides: dict[str, list[dict[str, Any]]], k: Any) -> Figure:
    fig, (ax,) = _figure()
    ax.set_title("Cell-size distribution")
    extra = [str(r.get("cell_size")) for side in sides.values() for r in side]
    classes = _ordered(list(CELL_SIZES), extra)
    totals = {side: _sum_by(rows, "cell_size", "records") for side, rows in sides.items()}
    shown = [side for side in ("before", "after") if sides[side]]
    if not shown:
        _no_data(ax)
        return fig
    width = 0.8 / len(shown)
    for i, cls in enumerate(classes):
        if _is_num(k) and _class_top(cls) < k:
            ax.axvspan(i - 0.5, i + 0.5, color=SMALL, alpha=0.6, lw=0)
    for j, side in enumerate(shown):
        xs = [i + (j - (len(shown) - 1) / 2) * width for i in range(len(classes))]
        ys = [totals[side].get(c, 0) for c in classes]
        ax.bar(xs, ys, width=width, label=side, color=BEFORE if side == "before" else AFTER)
    ax.set_xticks(range(len(classes)), classes)
    ax.set_xlabel("cell size (records with the same key combination)")
    ax.set_ylabel("records")
    if any(v > 0 for t in totals.values() for v in t.values()):
        ax.set_yscale("log")
        ax.set_ylabel("records (log scale)")
    ax.legend()
    return fig


def _plot_risk(sides: dict[str, list[dict[str, Any]]]) -> Figure:
    fig, axes = _figure(2)
    measures = (
        ("records_below_k", "Records in small cells"),
        ("expected_reidentifications", "Expected re-identifications"),
    )
    populations = sorted({str(r.get("population")) for side in sides.values() for r in side})
    colours = {p: f"C{i % 10}" for i, p in enumerate(populations)}
    for ax, (key, title) in zip(axes, measures, strict=True):
        ax.set_title(title)
        if not populations:
            _no_data(ax)
            continue
        for side, style in (("before", "--"), ("after", "-")):
            for pop in populations:
                points = sorted(
                    (r.get("year"), r.get(key))
                    for r in sides[side]
                    if str(r.get("population")) == pop
                    and _is_num(r.get(key))
                    and _is_num(r.get("year"))
                )
                if not points:
                    continue
                label = f"{pop} {side}"
                ax.plot(
                    *zip(*points, strict=True),
                    style,
                    marker="o",
                    ms=3,
                    color=colours[pop],
                    label=label,
                )
        ax.set_xlabel("year")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylim(bottom=0)
    if populations:
        axes[-1].legend(fontsize="small")
    return fig


def _plot_suppressions(loss: Mapping[str, Any]) -> Figure:
    fig, (ax,) = _figure()
    ax.set_title("Local suppressions per variable")
    counts = {str(k): v for k, v in (loss.get("suppressions") or {}).items() if _is_num(v)}
    if not counts:
        _no_data(ax, "no suppressions recorded")
        return fig
    names = list(counts)
    ax.barh(range(len(names)), [counts[n] for n in names], color=AFTER)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("values set to missing")
    return fig


def _plot_rounds(rounds: list[dict[str, Any]]) -> Figure:
    fig, (ax,) = _figure()
    ax.set_title("Small cells per treatment round")
    if not rounds:
        _no_data(ax, "treatment did not run")
        return fig
    xs = list(range(len(rounds)))
    for key, label, colour in (
        ("records_below_k", "records in small cells", AFTER),
        ("persons_below_k", "persons in small trajectories", "#e08214"),
    ):
        points = [(x, r.get(key)) for x, r in zip(xs, rounds, strict=True) if _is_num(r.get(key))]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", ms=4, color=colour, label=label)
    ticks = [f"{i}\n{r.get('phase', '')}" for i, r in enumerate(rounds)]
    step = max(1, math.ceil(len(rounds) / 12))
    ax.set_xticks(xs[::step], ticks[::step], fontsize="small")
    ax.set_xlabel("round and phase")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    return fig


# --- helpers ------------------------------------------------------------------------------


def _section(s: Mapping[str, Any], name: str) -> dict[str, list[dict[str, Any]]]:
    part = s.get(name) or {}
    return {side: _list(part.get(side)) for side in ("before", "after")}


def _list(value: Any) -> list[dict[str, Any]]:
    return [r for r in value or [] if isinstance(r, Mapping)]


def _ordered(first: list[str], rest: Iterable[str]) -> list[str]:
    """``first`` then the new names of ``rest``, each once."""
    return list(dict.fromkeys([*first, *rest]))


def _sum_by(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in rows:
        if _is_num(r.get(value)):
            out[str(r.get(key))] = out.get(str(r.get(key)), 0) + r[value]
    return out


def _class_top(cls: str) -> float:
    """The largest cell size of a class label (``5-9`` -> 9, ``20+`` -> inf)."""
    if cls.endswith("+"):
        return math.inf
    try:
        return float(cls.rsplit("-", 1)[-1])
    except ValueError:
        return math.inf


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: Any, key: str = "") -> str:
    if isinstance(value, bool) or not _is_num(value):
        return "" if value is None else str(value)
    if isinstance(value, int) or (key not in DECIMALS and float(value).is_integer()):
        return f"{int(value):,}"
    if not math.isfinite(value):
        return str(value)
    if key in DECIMALS:
        return f"{value:,.{DECIMALS[key]}f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def _cell(value: Any, key: str = "") -> str:
    return escape(_fmt(value, key))


def _missing(text: str) -> str:
    return f'<span class="missing">{escape(text)}</span>'


def _duration(seconds: Any) -> str:
    if not _is_num(seconds):
        return str(seconds)
    minutes, rest = divmod(float(seconds), 60)
    return f"{int(minutes)} min {rest:.0f} s" if minutes else f"{rest:.1f} s"
