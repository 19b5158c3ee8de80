"""A delivery's ``manifest.json``: parsed, checked against the schema and the folder.

Format (conf/schemas/README.md): ``format``, ``source``, ``delivery_id``, ``sender``,
``period`` {``from``, ``to``} and ``files`` [{``name``, ``kind``, ``rows``, ``sha256``}].
Every problem is an :class:`InputError` naming the manifest, the key and what was
expected; none of them is ever partly accepted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pseudolink.errors import InputError
from pseudolink.storage import Entry

FORMAT = "pseudolink-delivery/1"
MANIFEST = "manifest.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.csv(\.gz)?$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class ManifestFile:
    name: str
    kind: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    source: str
    delivery_id: str
    sender: str
    period_from: dt.date
    period_to: dt.date
    files: tuple[ManifestFile, ...]
    checksum: str  # SHA-256 of manifest.json itself: the delivery's identity in the ledger

    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.files})

    def files_of(self, kind: str) -> list[ManifestFile]:
        return [f for f in self.files if f.kind == kind]


def parse_manifest(
    raw: bytes, where: str, source: str, delivery_id: str, kinds: Iterable[str]
) -> Manifest:
    """Parse and check a manifest found at ``where`` in folder ``source/delivery_id``."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object, found {type(data).__name__}")
    known = sorted(kinds)
    _expect(data.get("format") == FORMAT, where, "format", repr(FORMAT), data.get("format"))
    _expect(data.get("source") == source, where, "source", repr(source), data.get("source"))
    _expect(
        data.get("delivery_id") == delivery_id,
        where,
        "delivery_id",
        f"{delivery_id!r} (the folder's name)",
        data.get("delivery_id"),
    )
    period = data.get("period")
    _expect(isinstance(period, dict), where, "period", "{'from': ..., 'to': ...}", period)
    start = _date(period.get("from"), where, "period.from")
    end = _date(period.get("to"), where, "period.to")
    _expect(start <= end, where, "period", "'from' on or before 'to'", period)
    files = data.get("files")
    _expect(isinstance(files, list) and files, where, "files", "a non-empty list", files)
    parsed = [_file(entry, i, where, known) for i, entry in enumerate(files)]
    names = [f.name for f in parsed]
    dupes = sorted({n for n in names if names.count(n) > 1})
    _expect(not dupes, where, "files", "each file listed once", f"{dupes} listed twice")
    return Manifest(
        source=source,
        delivery_id=delivery_id,
        sender=str(data.get("sender") or ""),
        period_from=start,
        period_to=end,
        files=tuple(parsed),
        checksum=hashlib.sha256(raw).hexdigest(),
    )


def check_listing(manifest: Manifest, entries: list[Entry], folder: str) -> None:
    """Every listed file is present as a file, and nothing else is in the folder."""
    present = {e.name: e for e in entries}
    for f in manifest.files:
        entry = present.get(f.name)
        if entry is None:
            raise InputError(
                f"{folder}/{f.name}: listed in {MANIFEST} (kind {f.kind}, {f.rows} rows) "
                "but not found in the delivery folder"
            )
        if entry.is_dir:
            raise InputError(f"{folder}/{f.name}: expected a file, found a folder")
    listed = {f.name for f in manifest.files} | {MANIFEST}
    extra = sorted(e.name for e in entries if e.name not in listed)
    if extra:
        raise InputError(
            f"{folder}: {', '.join(extra)} not listed in {MANIFEST} "
            "(expected only the manifest and the files it lists)"
        )


def _file(entry: object, i: int, where: str, kinds: list[str]) -> ManifestFile:
    key = f"files[{i}]"
    _expect(isinstance(entry, dict), where, key, "an object", entry)
    assert isinstance(entry, dict)
    name, kind, rows, sha = (entry.get(k) for k in ("name", "kind", "rows", "sha256"))
    _expect(
        isinstance(name, str) and bool(_NAME.match(name)),
        where,
        f"{key}.name",
        "a plain file name ending in .csv or .csv.gz",
        name,
    )
    _expect(kind in kinds, where, f"{key}.kind", f"one of {', '.join(kinds)}", kind)
    _expect(
        isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0,
        where,
        f"{key}.rows",
        "a whole number >= 0",
        rows,
    )
    _expect(
        isinstance(sha, str) and bool(_SHA.match(sha.lower())),
        where,
        f"{key}.sha256",
        "64 hexadecimal digits",
        sha,
    )
    return ManifestFile(str(name), str(kind), int(rows), str(sha).lower())


def _date(value: object, where: str, key: str) -> dt.date:
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{where}: key '{key}': expected a date YYYY-MM-DD, found {value!r}")


def _expect(ok: object, where: str, key: str, expected: str, found: object) -> None:
    if not ok:
        text = repr(found)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise InputError(f"{where}: key '{key}': expected {expected}, found {text}")
