"""The data dictionary of a release (Markdown), generated from conf/release.yaml.

One section per released table, in the order of the rules: its comment, its partitioning and
its columns with their Spark type, description and, for a classed column, the hierarchy, the
level released and the class labels at that level. The labels come from
:mod:`pseudolink.release.hierarchy`, from the same classes the release writes (pure Python:
no Spark needed).
"""

from __future__ import annotations

from pathlib import Path

from pseudolink.release.contract import load_contract
from pseudolink.release.hierarchy import class_labels
from pseudolink.release.rules import ReleaseRules

HEADER = """\
Generated from conf/release.yaml. Each table is listed with its partitioning; each column \
with its Spark type, its description and, when it is released in classes, the hierarchy, \
the level and the labels of its classes.

- `person_id` and `household_id` (and the other `*_id` columns) are meaningless sequence \
numbers: they only link the tables of the release (a person has the same number in every \
table) and carry no information about the person or the household.
- The key variables are the columns an intruder could know; the small cell risk \
analysis (SCRA) checks that, in every scenario of the intruder model (docs/release.md), every \
person, household or row shares its key combination with at least k others of its \
population. A missing value in a key variable, or in a column that narrows one (a ghost), \
may come from local suppression (the value was removed to protect a small cell), not only \
from the source. Sex, age class, place of birth, nationality at birth, origin and year of \
arrival are in `persons`, once per person at the reference date; add the years since for a \
later age.
- Class labels: `15-19` is 15 to 19 inclusive, `80+` is 80 or more, `<15` is below 15; \
`[2500,5000)` is from 2500 up to (not including) 5000; a month is `YYYY-MM`, a quarter \
`YYYYQn`.
- Only what deliberation 26/050 authorises is released, each column at the class the text \
allows or coarser (conf/authorisation.yaml names the paragraph of every column).
"""


def render_dictionary(
    rules: ReleaseRules,
    conf_dir: Path | str,
    levels: dict[str, int],
    columns: dict[str, list[tuple[str, str]]],
    release_id: str,
) -> str:
    """The Markdown data dictionary of release ``release_id``.

    ``levels`` are the levels the key variables were released at (after treatment);
    ``columns`` maps each released table to its written (column, Spark type) pairs.
    """
    key_tables = {q: k.table for q, k in rules.keys.items()}
    ghosts: dict[str, list[str]] = {}
    for q, k in rules.keys.items():
        for g in k.ghosts:
            ghosts.setdefault(g, []).append(q)
    contract = load_contract(conf_dir)
    out = [f"# Data dictionary: {_text(release_id)}", "", HEADER]
    out.append(
        f"Key variables (SCRA, k = {rules.k}; scenarios: {', '.join(rules.scenarios)}): "
        + ", ".join(f"`{q}` ({t})" for q, t in key_tables.items())
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
            qi = key_tables.get(col) == name
            description = _text(rule.comment) if rule else ""
            mark = ""
            if qi:
                mark = f"**key variable (SCRA, k = {rules.k})**"
            elif f"{name}.{col}" in ghosts:
                keys = ", ".join(f"`{q}`" for q in ghosts[f"{name}.{col}"])
                mark = f"**suppressed with {keys}** (a ghost)"
            if mark:
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


def _text(value: str) -> str:
    """``value`` on one line, safe inside a Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _cell(value: str) -> str:
    return f"`{_text(value)}`" if value else ""
