"""The release rules of conf/release.yaml: hierarchies, released tables and the SCRA settings.

Loaded with the project's one config loader (:func:`pseudolink.config.build`), then checked
as a whole against the authorisation contract (:mod:`pseudolink.release.contract`: only
columns deliberation 26/050 authorises, at its class or coarser, k not below the floor)
and for consistency: every hierarchy's coarser level must merge whole classes of the finer one (so
climbing it can only merge cells, never split them), every code-list column must exist,
and every quasi-identifier must be a column of exactly one annual person table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pseudolink.config import load_yaml
from pseudolink.errors import ConfigError
from pseudolink.release.contract import check_rules
from pseudolink.schemas import load_codelist

RULES_FILE = "release.yaml"
# The annual person tables whose columns the quasi-identifiers are.
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
class ReleaseRules:
    """The whole of conf/release.yaml."""

    k: int = field(default=5, metadata={"min": 1})
    quasi_identifiers: list[str] = field(default_factory=list)
    recoding_order: list[str] = field(default_factory=list)
    recode_above: float = field(default=0.02, metadata={"min": 0.0, "max": 1.0})
    suppression_order: list[str] = field(default_factory=list)
    longitudinal: bool = True
    max_rounds: int = field(default=40, metadata={"min": 1})
    hierarchies: dict[str, Hierarchy] = field(default_factory=dict)
    tables: dict[str, TableRule] = field(default_factory=dict)

    def config_problem(self) -> str | None:
        return _rules_problem(self)

    def qi_table(self, qi: str) -> str:
        """The annual person table that has quasi-identifier ``qi``."""
        return next(t for t in PERSON_YEAR_TABLES if qi in self.tables[t].columns)

    def qi_rule(self, qi: str) -> ColumnRule:
        return self.tables[self.qi_table(qi)].columns[qi]

    def qi_hierarchy(self, qi: str) -> Hierarchy | None:
        name = self.qi_rule(qi).hierarchy
        return self.hierarchies[name] if name else None

    def max_level(self, qi: str) -> int:
        """The highest level ``qi`` can be recoded to (0 when it has no hierarchy)."""
        h = self.qi_hierarchy(qi)
        return len(h.levels) - 1 if h and h.levels else 0


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
    for t in PERSON_YEAR_TABLES:
        if t not in r.tables:
            return f"tables: the SCRA needs the annual person table '{t}'"
    if not r.quasi_identifiers:
        return "quasi_identifiers: expected at least one"
    for qi in r.quasi_identifiers:
        owners = [t for t in PERSON_YEAR_TABLES if qi in r.tables[t].columns]
        if len(owners) != 1:
            return (
                f"quasi_identifiers: '{qi}' must be a column of exactly one of "
                f"{', '.join(PERSON_YEAR_TABLES)} (found in {len(owners)})"
            )
    for key in ("recoding_order", "suppression_order"):
        extra = [q for q in getattr(r, key) if q not in r.quasi_identifiers]
        if extra:
            return f"{key}: not quasi-identifiers: {', '.join(extra)}"
    missing = [q for q in r.quasi_identifiers if q not in r.suppression_order]
    if missing:
        return f"suppression_order: lists every quasi-identifier; missing {', '.join(missing)}"
    return None
