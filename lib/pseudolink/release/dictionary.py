"""The data dictionary of a release (Markdown), generated from conf/release.yaml.

One section per released table, in the order of the rules: its comment, its partitioning and
its columns with their Spark type, description and, for a classed column, the hierarchy, the
level released and the class labels at that level. The labels are computed here exactly as
:mod:`pseudolink.release.coarsen` writes them (pure Python: no Spark needed).
"""

from __future__ import annotations

from pathlib import Path

from pseudolink.release.contract import load_contract
from pseudolink.release.rules import Hierarchy, Level, ReleaseRules, code_map

# A band hierarchy without a top is open: its first classes are listed, then an ellipsis.
OPEN_BANDS_SHOWN = 10

HEADER = """\
Generated from conf/release.yaml. Each table is listed with its partitioning; each column \
with its Spark type, its description and, when it is released in classes, the hierarchy, \
the level and the labels of its classes.

- `person_id` and `household_id` (and the other `*_id` columns) are meaningless sequence \
numbers: they only link the tables of the release (a person has the same number in every \
table) and carry no information about the person or the household.
- The quasi-identifiers are the columns an intruder could know; the small cell risk \
analysis (SCRA) checks that every combination of them occurs at least k times per \
population and year (and, with `longitudinal`, across the years). A missing value in a \
quasi-identifier may come from local \
suppression (the value was removed to protect a small cell), not only from the source.
- Class labels: `15-19` is 15 to 19 inclusive, `80+` is 80 or more, `<15` is below 15; \
`[2500,5000)` is from 2500 up to (not including) 5000; a month is `YYYY-MM`, a quarter \
`YYYYQn`.
- Only what deliberation 26/050 authorises is released, each column at the class the text \
allows or coarser (conf/authorisation.yaml names the paragraph of every column).
"""


def class_labels(hierarchy: Hierarchy, level: int, conf_dir: Path | str) -> list[str]:
    """The labels of the classes of ``hierarchy`` at ``level``, as coarsen.py writes them."""
    if hierarchy.type == "month":
        return ["YYYY-MM"]
    if hierarchy.type == "quarter":
        return ["YYYYQn"]
    if hierarchy.type == "codes":
        return list(dict.fromkeys(code_map(conf_dir, hierarchy, level).values()))
    lv = hierarchy.levels[level]
    if hierarchy.type == "bands":
        return _band_labels(lv)
    return _bracket_labels(lv.breaks)


def render_dictionary(
    rules: ReleaseRules,
    conf_dir: Path | str,
    levels: dict[str, int],
    columns: dict[str, list[tuple[str, str]]],
    release_id: str,
) -> str:
    """The Markdown data dictionary of release ``release_id``.

    ``levels`` are the levels the quasi-identifiers were released at (after treatment);
    ``columns`` maps each released table to its written (column, Spark type) pairs.
    """
    qi_tables = {qi: rules.qi_table(qi) for qi in rules.quasi_identifiers}
    contract = load_contract(conf_dir)
    out = [f"# Data dictionary: {_text(release_id)}", "", HEADER]
    out.append(
        f"Quasi-identifiers (SCRA, k = {rules.k}): "
        + ", ".join(f"`{qi}` ({qi_tables[qi]})" for qi in rules.quasi_identifiers)
        + "."
    )
    out += ["", "## Tables", ""]
    out += [f"- [{name}](#{name}): {_text(t.comment)}" for name, t in rules.tables.items()]
    for name, table in rules.tables.items():
        if name not in columns and columns:
            continue  # left out of a corrected re-release
        auth = contract.tables[name]
        out += ["", f"## {name}", "", _text(table.comment), ""]
        out += [f"Partitioned by {_partitioning(table.period)}.", ""]
        out += [f"Authorised by deliberation {contract.deliberation}, {_text(auth.paragraph)}."]
        if auth.limited_to:
            out += [f"Limited to: {_text(auth.limited_to)}."]
        out += ["", "| column | type | description | classes | authorised by |"]
        out += ["|---|---|---|---|---|"]
        written = columns.get(name) or [(c, "") for c in table.columns]
        for col, spark_type in written:
            rule = table.columns.get(col)
            qi = qi_tables.get(col) == name
            description = _text(rule.comment) if rule else ""
            if qi:
                mark = f"**quasi-identifier (SCRA, k = {rules.k})**"
                description = f"{description}; {mark}" if description else mark
            classes = ""
            if rule and rule.hierarchy:
                level = levels.get(col, rule.level) if qi else rule.level
                classes = _classes(rules, rule.hierarchy, level, conf_dir)
            granted = auth.columns.get(col)
            why = _cell(granted.paragraph) if granted else ""
            out.append(f"| `{col}` | {_cell(spark_type)} | {description} | {classes} | {why} |")
    return "\n".join(out) + "\n"


def _partitioning(period: str) -> str:
    if period == "none":
        return "`population`"
    return f"`population` and `{period}`"


def _classes(rules: ReleaseRules, name: str, level: int, conf_dir: Path | str) -> str:
    h = rules.hierarchies[name]
    labels = ", ".join(f"`{label}`" for label in class_labels(h, level, conf_dir))
    where = f"{name}" if h.type in ("month", "quarter") else f"{name}, level {level}"
    return f"{where}: {labels}"


def _band_labels(lv: Level) -> list[str]:
    width, lowest = int(lv.width or 1), int(lv.lowest or 0)
    labels = [f"<{lowest}"]
    stop = lv.top if lv.top is not None else lowest + width * OPEN_BANDS_SHOWN
    for start in range(lowest, stop, width):
        labels.append(str(start) if width == 1 else f"{start}-{start + width - 1}")
    labels.append(f"{lv.top}+" if lv.top is not None else "...")
    return labels


def _bracket_labels(breaks: list[float]) -> list[str]:
    shown = [_num(b) for b in breaks]
    inner = [f"[{a},{b})" for a, b in zip(shown, shown[1:], strict=False)]
    return [f"<{shown[0]}", *inner, f"{shown[-1]}+"]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _text(value: str) -> str:
    """``value`` on one line, safe inside a Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _cell(value: str) -> str:
    return f"`{_text(value)}`" if value else ""
