"""The one config loader: YAML files in conf/, validated into typed, frozen objects.

Every section is a dataclass. The loader checks each key against the dataclass: a key it
does not know, a missing value or a wrong type stops with a :class:`ConfigError` naming
the file, the dotted key and what was expected. Paths are URIs, so the same config runs
on ``file://``, ``hdfs://`` or ``s3a://``; a plain path is made absolute against the
current directory.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from pseudolink.errors import ConfigError
from pseudolink.ingest.settings import IngestSettings

ZONES = ("inbox", "bronze", "trusted", "release", "outbox")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def to_uri(path: str, base: str | os.PathLike[str] | None = None) -> str:
    """Return ``path`` as a URI: kept if it has a scheme, else an absolute ``file://`` URI."""
    if _SCHEME.match(path):
        return path.rstrip("/") or path
    return Path(base or os.getcwd(), path).resolve().as_uri()


def project_conf_dir() -> Path:
    """This project's conf/ folder (``$PSEUDOLINK_HOME/conf``, else the checkout's): for
    notebooks and library calls that run without a job's config."""
    home = os.environ.get("PSEUDOLINK_HOME")
    return Path(home) / "conf" if home else Path(__file__).resolve().parents[2] / "conf"


def uri_to_local_path(uri: str) -> Path:
    """The local path of a ``file://`` URI, for the few steps that need the local disk."""
    if uri.startswith("file://"):
        return Path(uri[len("file://") :])
    if _SCHEME.match(uri):
        raise ConfigError(
            f"'{uri}' is not on the local file system (a file:// path is needed here)"
        )
    return Path(uri)


@dataclass(frozen=True)
class SparkSettings:
    """Settings applied to every SparkSession the factory builds."""

    app_name: str = "pseudolink"
    shuffle_partitions: int = field(default=8, metadata={"min": 1})
    # Extra Spark settings, e.g. {"spark.sql.adaptive.enabled": "true"}.
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GeneratorSettings:
    """The synthetic population and its deliveries (the embedded default data)."""

    # Residents on 1 January 2013; the demo's scale. `generate --persons` overrides it.
    persons: int = field(default=20_000, metadata={"min": 10})
    seed: int = 26050
    # Persons per Spark task; blocks are simulated independently (at most 497 blocks).
    block_size: int = field(default=25_000, metadata={"min": 10})
    # Sources whose files are gzip-compressed.
    gzip_sources: list[str] = field(default_factory=lambda: ["ksz", "vdab"])
    # Delivery id of each source.
    deliveries: dict[str, str] = field(
        default_factory=lambda: {
            "statbel": "statbel-2025-01",
            "ksz": "ksz-2025-01",
            "vdab": "vdab-2025-01",
        }
    )

    def config_problem(self) -> str | None:
        if set(self.deliveries) != {"statbel", "ksz", "vdab"}:
            return "deliveries: expected ids for exactly statbel, ksz and vdab"
        unknown = set(self.gzip_sources) - set(self.deliveries)
        return f"gzip_sources: unknown source(s) {sorted(unknown)}" if unknown else None


@dataclass(frozen=True)
class CohortSettings:
    """The three stock populations and their observation windows (deliberation 26/050)."""

    reference_years: list[int] = field(default_factory=lambda: [2016, 2019, 2022])
    last_year: int = 2024
    region: str = "FL"
    age_min: int = 18
    age_max: int = 64
    # CENSUS labour market situation codes (conf/codes/labour_market_situation.csv) that
    # count as working, retired and studying on the reference date: these persons are not
    # index persons. Everyone else of the right age and region is.
    working: list[str] = field(default_factory=lambda: ["1"])
    retired: list[str] = field(default_factory=lambda: ["4"])
    studying: list[str] = field(default_factory=lambda: ["3"])
    # Years before the reference year from which the socio-economic position, RVA status
    # and OCMW support type are requested (2016 -> 2013Q1).
    retrospective_years: int = field(default=3, metadata={"min": 0})
    # How far back the start of an activation action running on the reference date goes.
    activation_lookback_years: int = field(default=3, metadata={"min": 0})
    # Id of the extraction request written to outbox/requests/.
    request_id: str = "request-2025-01"

    def config_problem(self) -> str | None:
        if not self.reference_years or any(y > self.last_year for y in self.reference_years):
            return "reference_years: expected years up to last_year"
        if self.age_min > self.age_max:
            return "age_min must not exceed age_max"
        return None


@dataclass(frozen=True)
class KeySettings:
    """The keystore of the project secret (docs/keys.md)."""

    # A demo config: when no keystore exists, the pipeline creates one, with the
    # passphrase from PSEUDOLINK_PASSPHRASE or else the announced demo-only passphrase.
    # A non-demo config (false) never creates one on its own and refuses that passphrase.
    demo: bool = False


@dataclass(frozen=True)
class LinkSettings:
    """How the link stage joins the sources to the populations (docs/link.md)."""

    # auto: broadcast the populations' windows when their estimated size is at most
    # broadcast_threshold_mb, else a sort-merge join; broadcast / sort_merge force one.
    join: Literal["auto", "broadcast", "sort_merge"] = "auto"
    broadcast_threshold_mb: int = field(default=256, metadata={"min": 0})
    # With a sort-merge join, an INSZ with more bronze rows than this (a placeholder
    # number) is joined apart by broadcast, so one task does not get all its rows.
    skew_rows: int = field(default=10_000, metadata={"min": 1})


@dataclass(frozen=True)
class PseudonymiseSettings:
    """How identifiers become tokens and sequence numbers (docs/pseudonymise.md)."""

    # native: HMAC-SHA256 built from Spark's sha2/unhex/concat (no Python);
    # udf: a vectorised pandas UDF with the cryptography package. Same tokens.
    method: Literal["native", "udf"] = "native"


@dataclass(frozen=True)
class RecipientSettings:
    """One researcher authorised to read a release (docs/deliver.md)."""

    # A short name, used in the package (keys/<id>.key) and in logs.
    id: str
    # The researcher's X25519 public key (PEM), a path relative to the config's folder.
    public_key: str

    def config_problem(self) -> str | None:
        return None if _NAME.match(self.id) else "id: expected letters, digits, '.', '_', '-'"


@dataclass(frozen=True)
class SftpSettings:
    """The SFTP server packages are uploaded to (docs/deliver.md)."""

    host: str
    username: str
    # The server's public host key, pinned: a file with one OpenSSH public key line
    # ("ssh-ed25519 AAAA..."; a known_hosts line works too). Relative to the config.
    host_key: str
    # The private key to log in with (OpenSSH or PEM), relative to the config's folder.
    # A passphrase, if any, comes from PSEUDOLINK_SFTP_KEY_PASSPHRASE.
    client_key: str
    port: int = field(default=22, metadata={"min": 1, "max": 65535})
    # Folder on the server under which each package gets <release-id>/.
    remote_dir: str = "."
    timeout_seconds: int = field(default=30, metadata={"min": 1})


@dataclass(frozen=True)
class DeliverSettings:
    """Encrypted packages of a release for its researchers (docs/deliver.md)."""

    # The researchers authorised to read releases, each with their public key.
    recipients: list[RecipientSettings] = field(default_factory=list)
    # A demo config: deliver makes a demo researcher key pair under the data root
    # (private key in ROOT/researcher-demo/, announced as demo-only) and adds it.
    demo_recipient: bool = False
    # Plaintext bytes per AES-256-GCM chunk of the payload.
    chunk_mib: int = field(default=4, metadata={"min": 1, "max": 1024})
    # Upload here when set; otherwise the package stays in ROOT/outbox/<release-id>/.
    sftp: SftpSettings | None = None

    def config_problem(self) -> str | None:
        ids = [r.id for r in self.recipients]
        if len(set(ids)) != len(ids):
            return "recipients: every id must be different"
        return None


@dataclass(frozen=True)
class RetentionSettings:
    """How long released data may be kept (deliberation 26/050: until 30 November 2033)."""

    # Last day a release and its packages may exist; written into each release and package.
    end_date: dt.date = dt.date(2033, 11, 30)


@dataclass(frozen=True)
class ReleaseProfile:
    """What this profile changes in conf/release.yaml (the production rules). Only for
    synthetic data far smaller than the real populations: recorded in every SCRA report."""

    # A higher utility guard than the rules' max_suppressed_share (None: the rules' own).
    max_suppressed_share: float | None = field(default=None, metadata={"min": 0.0, "max": 1.0})
    # Scenarios of the rules not applied (their names); the report lists them.
    skip_scenarios: list[str] = field(default_factory=list)
    why: str = ""  # required when anything is changed: shown in the report

    def config_problem(self) -> str | None:
        changed = self.max_suppressed_share is not None or self.skip_scenarios
        if changed and not self.why.strip():
            return "why: say why this profile changes the release rules"
        return None


@dataclass(frozen=True)
class Config:
    """The whole configuration of one run."""

    profile: str
    root: str
    spark: SparkSettings = field(default_factory=SparkSettings)
    generator: GeneratorSettings = field(default_factory=GeneratorSettings)
    cohorts: CohortSettings = field(default_factory=CohortSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    keys: KeySettings = field(default_factory=KeySettings)
    link: LinkSettings = field(default_factory=LinkSettings)
    pseudonymise: PseudonymiseSettings = field(default_factory=PseudonymiseSettings)
    deliver: DeliverSettings = field(default_factory=DeliverSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    release: ReleaseProfile = field(default_factory=ReleaseProfile)
    # Where the file was read from; set by the loader, not by the YAML.
    source: str = field(default="<memory>", metadata={"internal": True})

    def zone(self, name: str) -> str:
        """URI of a data zone (inbox, bronze, trusted, release, outbox) or other folder."""
        return f"{self.root.rstrip('/')}/{name}"

    @property
    def conf_dir(self) -> Path:
        """The folder of the config file: schemas and code lists are found beside it."""
        return Path(self.source).parent if self.source != "<memory>" else Path("conf")


def load_config(path: str | os.PathLike[str], root: str | None = None) -> Config:
    """Read and validate a config file; ``root`` (a path or URI) overrides its data root."""
    file = str(path)
    config = build(Config, read_yaml(path), file)
    resolved = to_uri(root if root else config.root)
    return replace(config, root=resolved, source=str(Path(file).resolve()))


def load_yaml(path: str | os.PathLike[str], cls: type) -> Any:
    """Read a YAML file of conf/ and validate it into dataclass ``cls``."""
    return build(cls, read_yaml(path), str(path))


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """The parsed YAML of a file (an empty file is {}); clear errors name the file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"{file}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    return {} if data is None else data


def build(cls: type, data: Any, file: str, prefix: str = "") -> Any:
    """Validate ``data`` against dataclass ``cls``; errors name ``file`` and the key."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: {_key(prefix) or 'the file'}: expected a mapping of keys, got {_show(data)}"
        )
    hints = typing.get_type_hints(cls)
    allowed = [f for f in fields(cls) if not f.metadata.get("internal")]
    names = {f.name for f in allowed}
    for key in data:
        if key not in names:
            raise ConfigError(
                f"{file}: unknown key '{prefix}{key}' (expected one of: {', '.join(sorted(names))})"
            )
    values = {}
    for f in allowed:
        dotted = f"{prefix}{f.name}"
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(
                    f"{file}: missing key '{dotted}' (expected {_describe(hints[f.name])})"
                )
            continue
        values[f.name] = _coerce(hints[f.name], data[f.name], file, dotted, f.metadata)
    obj = cls(**values)
    check = getattr(obj, "config_problem", None)
    if check is not None:
        problem = check()
        if problem:
            raise ConfigError(f"{file}: {_key(prefix) or 'config'}: {problem}")
    return obj


def _coerce(tp: Any, value: Any, file: str, key: str, meta: Any = None) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    wrong = ConfigError(f"{file}: key '{key}': expected {_describe(tp)}, got {_show(value)}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, file, key, meta)
    if origin is Literal:
        if value not in args:
            raise wrong
        return value
    if is_dataclass(tp):
        return build(tp, value, file, key + ".")
    if origin is list:
        if not isinstance(value, list):
            raise wrong
        return [_coerce(args[0], v, file, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise wrong
        return {
            _coerce(args[0], k, file, key): _coerce(args[1], v, file, f"{key}.{k}")
            for k, v in value.items()
        }
    if tp is dt.date:
        return _date(value, wrong)
    if tp is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        value = float(value)
    elif tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise wrong
        value = str(value)
    meta = meta or {}
    if "min" in meta and value < meta["min"]:
        raise ConfigError(f"{file}: key '{key}': expected at least {meta['min']}, got {value}")
    if "max" in meta and value > meta["max"]:
        raise ConfigError(f"{file}: key '{key}': expected at most {meta['max']}, got {value}")
    return value


def _date(value: Any, wrong: ConfigError) -> dt.date:
    """A date: YAML's own (an unquoted 2033-11-30) or an ISO string."""
    if isinstance(value, dt.datetime):
        raise wrong
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise wrong from None
    raise wrong


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None)) + " (or null)"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is list:
        return f"a list of {_describe(args[0])}"
    if origin is dict:
        return f"a mapping of {_describe(args[0])} to {_describe(args[1])}"
    if is_dataclass(tp):
        return "a mapping of keys"
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        dt.date: "a date (YYYY-MM-DD)",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def _show(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"


def _key(prefix: str) -> str:
    return f"key '{prefix.rstrip('.')}'" if prefix else ""
