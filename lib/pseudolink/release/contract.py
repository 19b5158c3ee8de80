"""The authorisation contract (conf/authorisation.yaml): what deliberation 26/050 allows.

Every released column is listed per table with the paragraph or footnote that authorises
it and the finest class the text allows (its ``kind``); a release may use that class or a
coarser one, never a finer one, and never a column the contract does not list.

Checked twice:
- when conf/release.yaml is loaded (:func:`check_rules`): every table and column of the
  release is in the contract, at its class or coarser, and ``k`` is not below the floor;
  anything else is a :class:`ConfigError` naming the file, table, column and paragraph;
- after the release's tables are written, before the manifest (:func:`violations`): the
  column names of every written table and the values of every column (one aggregation
  per table, no record reaches the driver).

Kinds (the finest class allowed):
- ``sequence``: a meaningless sequence number (an integer, §3);
- ``population``: a reference year of the three stock populations (§2);
- ``year``: a year within ``range``;
- ``quarter``: ``YYYYQn`` within ``range``; ``month``: ``YYYY-MM`` (or a quarter);
- ``codes``: a value of column ``column`` of code list ``codelist`` (``code``: the code
  itself), or of a column that merges it (e.g. a district's province or region);
- ``bands``: integers in classes at least ``width`` wide (``15-19``, ``<15``, ``80+``);
- ``amounts``: amounts in classes (``[2500,5000)``, ``<0``, ``75000+``), never an amount;
- ``values``: one of ``values``.
``also`` adds labels a kind allows besides its own (e.g. "more than three years ago").
``as_delivered``: a ``quarter`` or ``month`` column may be released without a hierarchy
because the source holds it at that precision already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.config import load_yaml
from pseudolink.errors import ConfigError
from pseudolink.schemas import load_codelist

CONTRACT_FILE = "authorisation.yaml"
Kind = Literal[
    "sequence", "population", "year", "quarter", "month", "codes", "bands", "amounts", "values"
]


@dataclass(frozen=True)
class Authorised:
    """One column the deliberation authorises."""

    paragraph: str  # where the text authorises it: "§4 CENSUS", "footnote 2"...
    kind: Kind
    codelist: str | None = None  # codes
    column: str = "code"  # codes: the code list's column of the finest class allowed
    width: int | None = field(default=None, metadata={"min": 1})  # bands
    values: list[str] = field(default_factory=list)  # values
    range: list[int] = field(default_factory=list)  # year, quarter: [first, last] year
    also: list[str] = field(default_factory=list)  # further labels allowed
    as_delivered: bool = False  # quarter, month: the source has that precision
    limited_to: str = ""  # the persons or rows it is limited to (implemented in code)

    def config_problem(self) -> str | None:
        if self.kind == "codes" and not self.codelist:
            return "kind codes needs a codelist"
        if self.kind == "bands" and not self.width:
            return "kind bands needs a width"
        if self.kind == "values" and not self.values:
            return "kind values needs values"
        if self.kind in ("year", "quarter") and len(self.range) != 2:
            return f"kind {self.kind} needs a range [first, last]"
        return None


@dataclass(frozen=True)
class AuthorisedTable:
    paragraph: str
    limited_to: str
    columns: dict[str, Authorised]


@dataclass(frozen=True)
class Contract:
    deliberation: str
    k_floor: int = field(metadata={"min": 2})
    k_paragraph: str = ""
    rerelease_paragraph: str = ""
    tables: dict[str, AuthorisedTable] = field(default_factory=dict)


def load_contract(conf_dir: Path | str) -> Contract:
    return load_yaml(Path(conf_dir) / CONTRACT_FILE, Contract)


def check_rules(rules, conf_dir: Path | str, file: str) -> None:  # noqa: ANN001 - ReleaseRules
    """Refuse a release config that asks for more than the contract allows."""
    contract = load_contract(conf_dir)
    where = Path(conf_dir) / CONTRACT_FILE
    if rules.k < contract.k_floor:
        raise ConfigError(
            f"{file}: k: {rules.k} is below the floor {contract.k_floor} of {where} "
            f"({contract.k_paragraph})"
        )
    for tname, table in rules.tables.items():
        allowed = contract.tables.get(tname)
        if allowed is None:
            raise ConfigError(
                f"{file}: tables.{tname}: not a table of the authorisation contract {where} "
                f"(deliberation {contract.deliberation} authorises: {', '.join(contract.tables)})"
            )
        for cname, rule in table.columns.items():
            auth = allowed.columns.get(cname)
            if auth is None:
                raise ConfigError(
                    f"{file}: tables.{tname}.columns.{cname}: not authorised by deliberation "
                    f"{contract.deliberation} ({where} lists for {tname}, {allowed.paragraph}: "
                    f"{', '.join(allowed.columns)})"
                )
            h = rules.hierarchies.get(rule.hierarchy) if rule.hierarchy else None
            problem = _finer(auth, h, rule.level, conf_dir)
            if problem:
                raise ConfigError(
                    f"{file}: tables.{tname}.columns.{cname}: {problem}, finer than "
                    f"{auth.paragraph} allows ({where})"
                )


def _finer(auth: Authorised, h, level: int, conf_dir: Path | str) -> str | None:  # noqa: ANN001
    """Why the release's class of a column is finer than ``auth`` allows, or None."""
    kind = auth.kind
    htype = h.type if h else None
    if kind in ("sequence", "population", "year", "values"):
        return f"released through a hierarchy ({htype})" if h else None
    if kind == "quarter":
        if htype == "quarter" or (h is None and auth.as_delivered):
            return None
        return f"released {'as delivered' if h is None else 'as ' + htype}, not per quarter"
    if kind == "month":
        if htype in ("month", "quarter") or (h is None and auth.as_delivered):
            return None
        return f"released {'as delivered' if h is None else 'as ' + htype}, not per month"
    if kind == "amounts":
        return None if htype == "breaks" else "an amount not in classes"
    if kind == "bands":
        if htype != "bands":
            return f"not in classes of at least {auth.width}"
        width = h.levels[level].width or 1
        if width % (auth.width or 1):
            return f"classes of {width}, not a multiple of {auth.width}"
        return None
    # codes
    if h is None:
        return None if auth.column == "code" else f"the code itself, not its {auth.column}"
    if htype != "codes" or h.codelist != auth.codelist:
        return f"not a class of code list {auth.codelist}"
    column = h.levels[level].column or "code"
    if column not in _merging_columns(conf_dir, auth.codelist or "", auth.column):
        return f"{auth.codelist} column '{column}' does not merge '{auth.column}'"
    return None


def _merging_columns(conf_dir: Path | str, codelist: str, finest: str) -> list[str]:
    """The columns of a code list that are ``finest`` or merge its classes."""
    codes = load_codelist(Path(conf_dir), codelist)
    sample = next(iter(codes.values()), {})
    columns = ["code", *[c for c in sample if c != "label"]]

    def value(code: str, row: dict[str, str], col: str) -> str:
        return code if col == "code" else row[col]

    out = []
    for col in columns:
        seen: dict[str, str] = {}
        if all(
            seen.setdefault(value(c, r, finest), value(c, r, col)) == value(c, r, col)
            for c, r in codes.items()
        ):
            out.append(col)
    return out


def _allowed_codes(conf_dir: Path | str, auth: Authorised) -> list[str]:
    codes = load_codelist(Path(conf_dir), auth.codelist or "")
    values = set()
    for col in _merging_columns(conf_dir, auth.codelist or "", auth.column):
        values |= {c if col == "code" else r[col] for c, r in codes.items()}
    return sorted(values)


_NUM = r"-?\d+(\.\d+)?"
_QUARTER = r"^(\d{4})Q[1-4]$"
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


def valid(col: Column, auth: Authorised, conf_dir: Path | str) -> Column:
    """A boolean expression: the value is one ``auth`` allows (null always is)."""
    kind = auth.kind
    text = col.cast("string")
    if kind == "sequence":
        ok = col.try_cast("long").isNotNull() & (col.try_cast("long") >= 0)
    elif kind == "population":
        ok = text.isin("2016", "2019", "2022")
    elif kind == "year":
        ok = col.try_cast("int").between(auth.range[0], auth.range[1])
    elif kind == "quarter":
        year = F.regexp_extract(text, _QUARTER, 1).try_cast("int")
        ok = text.rlike(_QUARTER) & year.between(auth.range[0], auth.range[1])
    elif kind == "month":
        ok = text.rlike(_MONTH) | text.rlike(_QUARTER)
    elif kind == "codes":
        ok = text.isin(_allowed_codes(conf_dir, auth))
    elif kind == "amounts":
        ok = text.rlike(rf"^\[{_NUM},{_NUM}\)$|^<{_NUM}$|^{_NUM}\+$")
    elif kind == "bands":
        lo = F.regexp_extract(text, r"^(-?\d+)-(-?\d+)$", 1).try_cast("int")
        hi = F.regexp_extract(text, r"^(-?\d+)-(-?\d+)$", 2).try_cast("int")
        width = int(auth.width or 1)
        ranged = text.rlike(r"^-?\d+--?\d+$") & (((hi - lo + 1) % width) == 0)
        single = text.rlike(r"^-?\d+$") & F.lit(width == 1)
        ok = ranged | single | text.rlike(r"^<-?\d+$") | text.rlike(r"^-?\d+\+$")
    else:  # values
        ok = text.isin(auth.values)
    if auth.also:
        ok = ok | text.isin(auth.also)
    return col.isNull() | F.coalesce(ok, F.lit(False))


def violations(df: DataFrame, table: str, contract: Contract, conf_dir: Path | str) -> list[str]:
    """What a written table holds beyond the contract: columns it does not list, a sequence
    number that is not an integer, and per column the number of values outside its class
    (one aggregation over the table)."""
    allowed = contract.tables.get(table)
    if allowed is None:
        return [f"table {table} is not in the authorisation contract"]
    out = [
        f"column {c} is not authorised for {table} ({allowed.paragraph})"
        for c in df.columns
        if c not in allowed.columns
    ]
    checked = [c for c in df.columns if c in allowed.columns]
    types = {f.name: f.dataType for f in df.schema.fields}
    for c in checked:
        integral = isinstance(types[c], T.IntegralType)
        if allowed.columns[c].kind == "sequence" and not integral:
            out.append(f"column {c}: a sequence number of type {types[c].simpleString()}")
    if not checked:
        return out
    aggs = [
        F.sum(F.when(valid(F.col(c), allowed.columns[c], conf_dir), 0).otherwise(1)).alias(c)
        for c in checked
    ]
    row = df.agg(*aggs).first()
    assert row is not None
    for c in checked:
        bad = int(row[c] or 0)
        if bad:
            auth = allowed.columns[c]
            out.append(f"column {c}: {bad} value(s) outside '{_describe(auth)}' ({auth.paragraph})")
    return out


def _describe(auth: Authorised) -> str:
    details = {
        "codes": f"codes of {auth.codelist} ({auth.column} or coarser)",
        "bands": f"classes of at least {auth.width}",
        "values": "one of " + ", ".join(auth.values),
        "year": f"a year {auth.range}",
        "quarter": f"a quarter {auth.range}",
    }
    return details.get(auth.kind, auth.kind)
