"""Small deliveries for the ingest tests: data files and a correct manifest in tmp_path.

A file is given as its lines (header included; each written with a '\\n') or as its exact
bytes; a name ending in .gz is gzipped. The manifest's rows and SHA-256 are computed from
what was written, so every test starts from a correct delivery and breaks one thing.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from pseudolink.cli import JobContext
from pseudolink.config import Config
from pseudolink.insz import compose

REPO = Path(__file__).resolve().parents[1]
PERIOD = ("2016-01-01", "2016-12-31")
KSZ_COLUMNS = [
    "insz",
    "quarter",
    "socio_economic_position",
    "rva_status",
    "ocmw_support",
    "activation_start",
]
KSZ_HEADER = ";".join(KSZ_COLUMNS)
EMPLOYMENT_HEADER = "insz;start_date;contract_type;sector;workplace_municipality"


def insz(i: int, year: int = 1985) -> str:
    """A valid INSZ, different for every i in 0..9999."""
    return compose(year, i % 12 + 1, i // 12 % 28 + 1, i // 336 * 2 + 1)


def ksz_line(i: int, quarter: str = "2016Q1", **fields: str) -> str:
    """One valid ksz_quarterly line; keyword arguments replace fields."""
    values = {
        "insz": insz(i),
        "quarter": quarter,
        "socio_economic_position": "111",
        "rva_status": "0",
        "ocmw_support": "0",
        "activation_start": "",
    }
    values.update(fields)
    return ";".join(values[c] for c in KSZ_COLUMNS)


def employment_line(i: int, start_date: str = "2016-03-01") -> str:
    return f"{insz(i)};{start_date};O;01;11001"


def ksz_file(n: int, first: int = 0, quarter: str = "2016Q1") -> list[str]:
    return [KSZ_HEADER, *[ksz_line(i, quarter) for i in range(first, first + n)]]


FileSpec = tuple[str, "list[str] | bytes"]  # (kind, lines with header, or exact bytes)


def write_delivery(
    root: Path,
    source: str,
    delivery_id: str,
    files: dict[str, FileSpec],
    period: tuple[str, str] = PERIOD,
    edit: Callable[[dict], None] | None = None,
) -> Path:
    """Write inbox/<source>/<delivery_id>/ with the files and a matching manifest.json."""
    folder = root / "inbox" / source / delivery_id
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, (kind, content) in files.items():
        data = content if isinstance(content, bytes) else "".join(f"{x}\n" for x in content)
        raw = data if isinstance(data, bytes) else data.encode("utf-8")
        plain = gzip.decompress(raw) if isinstance(content, bytes) and _is_gzip(raw) else raw
        rows = max(plain.count(b"\n") - 1, 0)
        if name.endswith(".gz") and not isinstance(content, bytes):
            raw = gzip.compress(raw, mtime=0)
        (folder / name).write_bytes(raw)
        entries.append(
            {"name": name, "kind": kind, "rows": rows, "sha256": hashlib.sha256(raw).hexdigest()}
        )
    manifest = {
        "format": "pseudolink-delivery/1",
        "source": source,
        "delivery_id": delivery_id,
        "sender": source.upper(),
        "period": {"from": period[0], "to": period[1]},
        "files": entries,
    }
    if edit:
        edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def _is_gzip(raw: bytes) -> bool:
    try:
        gzip.decompress(raw)
    except (OSError, EOFError):
        return False
    return True


def job_context(spark, root: Path, delivery: str | None = None) -> JobContext:  # noqa: ANN001
    """A JobContext on ``root`` with the repository's conf/ and the test session."""
    config = Config(profile="test", root=root.as_uri(), source=str(REPO / "conf" / "local.yaml"))
    ctx = JobContext(
        "ingest", argparse.Namespace(delivery=delivery), config, logging.getLogger("pseudolink")
    )
    ctx.__dict__["spark"] = spark  # the cached_property, filled with the shared session
    return ctx
