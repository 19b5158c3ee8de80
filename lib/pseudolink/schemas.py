"""Delivery schemas (conf/schemas/<source>.yaml) and code lists (conf/codes/<name>.csv),
validated when loaded. The generator writes these columns and the ingest checks them."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

from pseudolink.config import build
from pseudolink.errors import ConfigError

ColumnType = Literal[
    "insz", "string", "integer", "decimal", "date", "year_month", "quarter", "year", "code"
]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    codelist: str | None = None
    min: float | None = None
    max: float | None = None
    check: Literal["in_period", "not_after_period_end"] | None = None

    def config_problem(self) -> str | None:
        if self.type == "code" and not self.codelist:
            return f"column '{self.name}' has type code but no codelist"
        return None


@dataclass(frozen=True)
class FileSchema:
    description: str
    period: Literal["quarter", "year"]
    period_column: str
    key: list[str]
    columns: list[Column]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class SourceSchema:
    source: str
    files: dict[str, FileSchema] = field(default_factory=dict)


SOURCES = ("statbel", "ksz", "vdab")


@cache
def load_source(conf_dir: Path, source: str) -> SourceSchema:
    """Load and cross-check one source's schema (columns, keys, code lists exist)."""
    path = Path(conf_dir) / "schemas" / f"{source}.yaml"
    if not path.exists():
        raise ConfigError(f"{path}: schema file not found for source '{source}'")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    schema: SourceSchema = build(SourceSchema, data, str(path))
    for kind, spec in schema.files.items():
        names = spec.names
        for key in [*spec.key, spec.period_column]:
            if key not in names:
                raise ConfigError(f"{path}: files.{kind}: '{key}' is not one of its columns")
        for column in spec.columns:
            if column.codelist:
                load_codelist(Path(conf_dir), column.codelist)
    return schema


@cache
def load_codelist(conf_dir: Path, name: str) -> dict[str, dict[str, str]]:
    """A code list as {code: {column: value}} (label and any hierarchy columns)."""
    path = Path(conf_dir) / "codes" / f"{name}.csv"
    if not path.exists():
        raise ConfigError(f"{path}: code list '{name}' not found")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        if not reader.fieldnames or reader.fieldnames[:2] != ["code", "label"]:
            raise ConfigError(
                f"{path}: header must start with 'code;label', "
                f"got {';'.join(reader.fieldnames or [])!r}"
            )
        codes: dict[str, dict[str, str]] = {}
        for line, row in enumerate(reader, start=2):
            code = (row["code"] or "").strip()
            if not code or None in row or any(v is None for v in row.values()):
                raise ConfigError(
                    f"{path} line {line}: expected {len(reader.fieldnames)} "
                    f"';'-separated fields with a non-empty code"
                )
            if code in codes:
                raise ConfigError(f"{path} line {line}: duplicate code '{code}'")
            codes[code] = {k: v for k, v in row.items() if k != "code"}
    return codes
