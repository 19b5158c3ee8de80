"""The release rules of conf/release.yaml: hierarchies, released tables and the SCRA settings.

Loaded with the project's one config loader (:func:`pseudolink.config.build`), then checked
as a whole against the authorisation contract (:mod:`pseudolink.release.contract`: only
columns deliberation 26/050 authorises, at its class or coarser, k not below the floor)
and for consistency: every hierarchy's coarser level must merge whole classes of the finer one (so
climbing it can only merge cells, never split them), every code-list column must exist,
and the intruder model (keys, ghosts, scenarios, recoding) names released columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pseudolink.config import load_yaml
from pseudolink.errors import ConfigError
from pseudolink.release.contract import check_rules
from pseudolink.schemas import load_codelist

RULES_FILE = "release.yaml"
# The annual person tables (one row per population, year and person).
PERSON_YEAR_TABLES = ("demobel", "census")


@dataclass(frozen=True)
class Level:
    """One level of a hierarchy; which keys apply depends on the hierarchy's type."""

    width: int | None = field(default=None, metadata={"min": 1})  # bands
    lowest: int | None = None  # bands: values below it form the class "<lowest"
    top: int | None = None  # bands: values from it form the class "top+"
    breaks: list[float] = field(default_factory=list)  # breaks: class bounds, ascending
    column: str | None = None  # codes: a column of the code list, or "code"


@dataclass(frozen=True)
class Hierarchy:
    type: Literal["bands", "breaks", "codes", "month", "quarter"]
    codelist: str | None = None
    levels: list[Level] = field(default_factory=list)

    def config_problem(self) -> str | None:
        if self.type in ("month", "quarter"):
            return f"{self.type} has no levels" if self.levels else None
        if not self.levels:
            return f"{self.type}: expected at least one level"
        if self.type == "bands":
            return _bands_problem(self.levels)
        if self.type == "breaks":
            return _breaks_problem(self.levels)
        if not self.codelist:
            return "codes: expected a codelist"
        if any(not lv.column for lv in self.levels):
            return "codes: every level needs a column"
        return None


@dataclass(frozen=True)
class ColumnRule:
    source: str | None = None  # the pseudonymised column (default: the same name)
    hierarchy: str | None = None  # released through this hierarchy (default: as it is)
    level: int = field(default=0, metadata={"min": 0})  # its starting level
    comment: str = ""


@dataclass(frozen=True)
class TableRule:
    source: str  # trusted/pseudonymised/<source>, or "persons" (built)
    period: Literal["year", "quarter", "none"]
    comment: str
    columns: dict[str, ColumnRule]


@dataclass(frozen=True)
class KeyRule:
    """A key variable of the intruder model: where it is released and how it is treated."""

    table: str  # persons (once per person) or an annual person table (demobel, census)
    importance: int = field(default=1, metadata={"min": 1})  # 1: most important, kept longest
    suppress: bool = True  # False: never suppressed locally
    household: bool = False  # the household's value: suppressed for all its members
    ghosts: list[str] = field(default_factory=list)  # "table.column": suppressed with the key
    # value -> the key that gives it (education U: the age class): never suppressed alone,
    # suppressed wherever that key is missing, since it would give that key back
    fixed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """What an intruder is assumed to know (conf/release.yaml ``scenarios``)."""

    description: str
    unit: Literal["person", "household", "row"]
    keys: list[str] = field(default_factory=list)  # person, household: key variables
    member_keys: list[str] = field(default_factory=list)  # household: each member's keys
    event: bool = False  # person: plus the year and kind of the end of follow-up
    # the kind's importance in local suppression (1: the most important key, suppressed
    # last; 0: after every key, suppressed only where no key lifts the unit to k)
    event_importance: int = field(default=0, metadata={"min": 0})
    tables: dict[str, list[str]] = field(default_factory=dict)  # row: table -> its columns
    k: int | None = field(default=None, metadata={"min": 1})  # default: the rules' k


@dataclass(frozen=True)
class Recoding:
    suppression_limit: float = field(default=0.03, metadata={"min": 0.0, "max": 1.0})
    coarsest: dict[str, int] = field(default_factory=dict)  # key -> its coarsest level


@dataclass(frozen=True)
class ReleaseRules:
    """The whole of conf/release.yaml."""

    k: int = field(default=5, metadata={"min": 1})
    keys: dict[str, KeyRule] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    recoding: Recoding = field(default_factory=Recoding)
    max_suppressed_share: float = field(default=0.25, metadata={"min": 0.0, "max": 1.0})
    panels: dict[str, str] = field(default_factory=dict)  # panel table -> its position column
    max_rounds: int = field(default=30, metadata={"min": 1})
    hierarchies: dict[str, Hierarchy] = field(default_factory=dict)
    tables: dict[str, TableRule] = field(default_factory=dict)

    def config_problem(self) -> str | None:
        return _rules_problem(self)

    def scenario_k(self, name: str) -> int:
        return self.scenarios[name].k or self.k

    def person_keys(self) -> list[str]:
        """The keys of the person and household scenarios, in the order of ``keys``."""
        used = {
            q for s in self.scenarios.values() if s.unit != "row" for q in (*s.keys, *s.member_keys)
        }
        return [q for q in self.keys if q in used]

    def key_rule(self, key: str) -> ColumnRule:
        return self.tables[self.keys[key].table].columns[key]

    def key_hierarchy(self, key: str) -> Hierarchy | None:
        name = self.key_rule(key).hierarchy
        return self.hierarchies[name] if name else None

    def column_hierarchy(self, table: str, column: str) -> Hierarchy | None:
        name = self.tables[table].columns[column].hierarchy
        return self.hierarchies[name] if name else None

    def max_level(self, key: str) -> int:
        """The coarsest level global recoding may give ``key`` (its start when it has no
        hierarchy with levels)."""
        h = self.key_hierarchy(key)
        start = self.key_rule(key).level
        if not h or not h.levels or key not in self.recoding.coarsest:
            return start
        return max(start, min(self.recoding.coarsest[key], len(h.levels) - 1))


def load_rules(conf_dir: Path | str, name: str = RULES_FILE) -> ReleaseRules:
    """Read and check conf/release.yaml (and the code-list columns it names)."""
    path = Path(conf_dir) / name
    rules: ReleaseRules = load_yaml(path, ReleaseRules)
    for hname, h in rules.hierarchies.items():
        if h.type != "codes":
            continue
        try:
            codes = load_codelist(Path(conf_dir), h.codelist or "")
        except Exception as exc:  # noqa: BLE001 - reported with the key that caused it
            raise ConfigError(f"{path}: hierarchies.{hname}: {exc}") from None
        problem = _codes_problem(h, codes)
        if problem:
            raise ConfigError(f"{path}: hierarchies.{hname}: {problem}")
    # Only what deliberation 26/050 authorises, at its class or coarser (conf/authorisation.yaml).
    check_rules(rules, conf_dir, str(path))
    return rules


def with_profile(rules: ReleaseRules, profile, source: str = "the config") -> ReleaseRules:
    """``rules`` as a profile changes them (:class:`pseudolink.config.ReleaseProfile`):
    scenarios skipped, another max_suppressed_share. Unknown scenario names are refused."""
    unknown = [n for n in profile.skip_scenarios if n not in rules.scenarios]
    if unknown:
        raise ConfigError(f"{source}: release.skip_scenarios: unknown scenarios {unknown}")
    kept = {n: s for n, s in rules.scenarios.items() if n not in profile.skip_scenarios}
    if not kept:
        raise ConfigError(f"{source}: release.skip_scenarios: at least one scenario must stay")
    share = profile.max_suppressed_share
    return replace(
        rules,
        scenarios=kept,
        max_suppressed_share=rules.max_suppressed_share if share is None else share,
    )


def code_map(conf_dir: Path | str, h: Hierarchy, level: int) -> dict[str, str]:
    """Code -> class at ``level`` of a codes hierarchy."""
    column = h.levels[level].column or "code"
    codes = load_codelist(Path(conf_dir), h.codelist or "")
    return {code: (code if column == "code" else row[column]) for code, row in codes.items()}


def _bands_problem(levels: list[Level]) -> str | None:
    prev: Level | None = None
    for i, lv in enumerate(levels):
        if lv.width is None or lv.lowest is None:
            return f"bands: level {i} needs width and lowest"
        if lv.top is not None and (lv.top - lv.lowest) % lv.width:
            return f"bands: level {i}: top - lowest must be a multiple of width"
        if prev is not None:
            assert prev.width is not None
            if lv.width % prev.width or lv.lowest != prev.lowest:
                return (
                    f"bands: level {i} must merge whole classes of level {i - 1} "
                    "(width a multiple of it, same lowest)"
                )
            if prev.top is not None and (lv.top is None or lv.top > prev.top):
                return f"bands: level {i}: top must not exceed level {i - 1}'s top"
        prev = lv
    return None


def _breaks_problem(levels: list[Level]) -> str | None:
    prev: set[float] | None = None
    for i, lv in enumerate(levels):
        if len(lv.breaks) < 2 or sorted(set(lv.breaks)) != list(lv.breaks):
            return f"breaks: level {i}: expected at least two ascending breaks"
        if prev is not None and not set(lv.breaks) <= prev:
            return f"breaks: level {i}: its breaks must be a subset of level {i - 1}'s"
        prev = set(lv.breaks)
    return None


def _codes_problem(h: Hierarchy, codes: dict[str, dict[str, str]]) -> str | None:
    columns = [lv.column or "code" for lv in h.levels]
    sample = next(iter(codes.values()), {})
    for c in columns:
        if c != "code" and c not in sample:
            return f"code list {h.codelist} has no column '{c}'"

    def value(code: str, row: dict[str, str], col: str) -> str:
        return code if col == "code" else row[col]

    for finer, coarser in zip(columns, columns[1:], strict=False):
        seen: dict[str, str] = {}
        for code, row in codes.items():
            f, c = value(code, row, finer), value(code, row, coarser)
            if seen.setdefault(f, c) != c:
                return f"'{coarser}' is not a merge of '{finer}' ({finer} {f} is in two classes)"
    return None


def _rules_problem(r: ReleaseRules) -> str | None:
    for tname, t in r.tables.items():
        for cname, c in t.columns.items():
            if c.hierarchy is None:
                if c.level:
                    return f"tables.{tname}.columns.{cname}: a level needs a hierarchy"
                continue
            if c.hierarchy not in r.hierarchies:
                return f"tables.{tname}.columns.{cname}: unknown hierarchy '{c.hierarchy}'"
            h = r.hierarchies[c.hierarchy]
            if h.type not in ("month", "quarter") and c.level >= len(h.levels):
                return f"tables.{tname}.columns.{cname}: level {c.level} is beyond the hierarchy"
        if "population" not in t.columns:
            return f"tables.{tname}: every released table needs a population column"
        if t.period != "none" and t.period not in t.columns:
            return f"tables.{tname}: a {t.period} table needs a {t.period} column"
    return _model_problem(r)


def _model_problem(r: ReleaseRules) -> str | None:
    """The intruder model: keys, ghosts, scenarios and recoding name released columns."""
    for t in PERSON_YEAR_TABLES:
        if t not in r.tables:
            return f"tables: the SCRA needs the annual person table '{t}'"
    if "persons" not in r.tables:
        return "tables: the SCRA needs the persons table"
    for name, key in r.keys.items():
        where = f"keys.{name}"
        if key.table not in ("persons", *PERSON_YEAR_TABLES):
            return f"{where}.table: expected persons, {', '.join(PERSON_YEAR_TABLES)}"
        if name not in r.tables[key.table].columns:
            return f"{where}: not a released column of {key.table}"
        for g in key.ghosts:
            table, _, column = g.partition(".")
            if table not in r.tables or column not in r.tables[table].columns:
                return f"{where}.ghosts: '{g}' is not a released table.column"
            if table not in ("persons", *PERSON_YEAR_TABLES):
                return f"{where}.ghosts: '{g}': a ghost lives in persons, demobel or census"
        for value, by in key.fixed.items():
            if by not in r.keys or by == name:
                return f"{where}.fixed.{value}: '{by}' is not another key"
    if not r.scenarios:
        return "scenarios: expected at least one"
    for name, sc in r.scenarios.items():
        where = f"scenarios.{name}"
        if sc.unit == "row":
            if not sc.tables or sc.keys or sc.member_keys:
                return f"{where}: a row scenario names `tables` (and no keys)"
            for t, cols in sc.tables.items():
                if t not in r.tables:
                    return f"{where}.tables: unknown table '{t}'"
                extra = [c for c in cols if c not in r.tables[t].columns]
                if extra or not cols:
                    return f"{where}.tables.{t}: not released columns: {', '.join(extra)}"
            continue
        if sc.tables or not sc.keys:
            return f"{where}: a {sc.unit} scenario names `keys` (and no tables)"
        if sc.unit == "household" and not sc.member_keys:
            return f"{where}: a household scenario names `member_keys`"
        unknown = [q for q in (*sc.keys, *sc.member_keys) if q not in r.keys]
        if unknown:
            return f"{where}: not in keys: {', '.join(unknown)}"
        if sc.unit == "household" and any(not r.keys[q].household for q in sc.keys):
            return f"{where}.keys: a household scenario's keys are household keys"
    for key, level in r.recoding.coarsest.items():
        if key not in r.keys:
            return f"recoding.coarsest.{key}: not in keys"
        h = r.key_hierarchy(key)
        if h is None or not h.levels or level >= len(h.levels):
            return f"recoding.coarsest.{key}: level {level} is beyond its hierarchy"
    for t, column in r.panels.items():
        if t not in r.tables or column not in r.tables[t].columns:
            return f"panels.{t}: '{column}' is not a released column of {t}"
        if r.tables[t].period != "quarter":
            return f"panels.{t}: a panel is a quarterly table"
    return None
