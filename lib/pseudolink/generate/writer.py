"""Delivery files as a sender would write them: `;`-separated UTF-8 CSV with a header,
gzip where configured (with a zero timestamp, so the bytes depend only on the content),
and the faults that ``--inject-faults`` asks for."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
from collections.abc import Iterable
from pathlib import Path

# (kind, fault, count): rows changed in block 0's file of that kind.
ROW_FAULTS = [
    ("ksz_quarterly", "bad_insz", 3),
    ("ksz_quarterly", "bad_column_count", 2),
    ("ksz_quarterly", "unknown_code", 3),
    ("ksz_quarterly", "duplicate_row", 2),
    ("vdab_quarterly", "bad_date", 3),
    ("vdab_quarterly", "bad_column_count", 1),
    ("demobel", "bad_insz", 2),
    ("demobel", "unknown_code", 2),
    ("demobel_events", "bad_date", 2),
]
FAULT_HEADER = "delivery_id;file;line;kind"


def encode_rows(header: list[str], rows: Iterable[list[str]]) -> tuple[bytes, int]:
    """The CSV text (UTF-8) of a header and rows, and the number of rows."""
    out = io.StringIO()
    out.write(";".join(header) + "\n")
    n = 0
    for row in rows:
        out.write(";".join(row) + "\n")
        n += 1
    return out.getvalue().encode("utf-8"), n


def compress(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buffer.getvalue()


def write_file(path: Path, data: bytes) -> str:
    """Write ``data`` and return its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def _bad_check_digits(insz: str) -> str:
    from pseudolink.insz import check_digits

    valid = {check_digits(insz[:9], False), check_digits(insz[:9], True)}
    cc = next(c for c in range(1, 100) if c not in valid and c != int(insz[9:]))
    return insz[:9] + f"{cc:02d}"


def inject_row_faults(
    kind: str, rows: list[list[str]], header: list[str], seed: int
) -> tuple[list[list[str]], list[tuple[int, str]]]:
    """Apply this kind's row faults; return the rows and (line, fault) of each fault."""
    faults = [(f, n) for k, f, n in ROW_FAULTS if k == kind]
    if not faults or not rows:
        return rows, []
    rng = random.Random(f"pseudolink:faults:{seed}:{kind}")
    rows = [list(r) for r in rows]
    wanted = sum(n for _, n in faults)
    candidates = list(range(len(rows)))
    if kind == "vdab_quarterly":
        candidates = [i for i in candidates if rows[i][header.index("registration_start")]]
    chosen = sorted(rng.sample(candidates, min(wanted, len(candidates))))
    marks: dict[int, str] = {}
    it = iter(chosen)
    for fault, n in faults:
        for _ in range(n):
            i = next(it)
            row = rows[i]
            if fault == "bad_insz":
                row[0] = _bad_check_digits(row[0])
            elif fault == "bad_column_count":
                rows[i] = row[:-1] if len(row) > 2 and kind != "vdab_quarterly" else row + ["x"]
            elif fault == "unknown_code":
                col = "socio_economic_position" if kind == "ksz_quarterly" else "municipality"
                row[header.index(col)] = "999" if kind == "ksz_quarterly" else "99999"
            elif fault == "bad_date":
                col = "registration_start" if kind == "vdab_quarterly" else "event_date"
                row[header.index(col)] = row[header.index(col)][:4] + "-13-45"
            marks[i] = fault
    out: list[list[str]] = []
    lines: list[tuple[int, str]] = []
    for i, row in enumerate(rows):
        out.append(row)
        fault = marks.get(i)
        if fault == "duplicate_row":
            out.append(list(row))
            lines.append((len(out) + 1, fault))  # the copy; line 1 is the header
        elif fault:
            lines.append((len(out) + 1, fault))
    return out, lines
