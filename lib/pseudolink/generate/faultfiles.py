"""File-level faults, each in a delivery of its own so the row-level faults of the main
deliveries stay ingestable: a latin-1 encoded file and a truncated gzip member."""

from __future__ import annotations

import gzip
from pathlib import Path

from pseudolink.generate.writer import compress, write_file

LATIN1_ROWS, TRUNCATED_ROWS = 60, 400


def _head(path: Path, rows: int) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [next(handle).rstrip("\n") for _ in range(rows + 1)]


def latin1_file(source_file: Path, target: Path, action_column: int) -> tuple[dict, list[int]]:
    """A copy of the first rows of an activation file, in latin-1, with accented action ids
    on three rows. Returns the file's metadata and the lines with non-UTF-8 bytes."""
    lines = _head(source_file, LATIN1_ROWS)
    bad = [5, 17, 42]  # file lines (1 = header)
    for line in bad:
        fields = lines[line - 1].split(";")
        fields[action_column] = fields[action_column].replace("A", "Aé", 1)
        lines[line - 1] = ";".join(fields)
    data = ("\n".join(lines) + "\n").encode("latin-1")
    digest = write_file(target, data)
    return {"name": target.name, "rows": LATIN1_ROWS, "sha256": digest, "bytes": len(data)}, bad


def truncated_gzip(source_file: Path, target: Path) -> dict:
    """The first rows of a quarterly file, gzip-compressed and cut at 60 % of its bytes."""
    lines = _head(source_file, TRUNCATED_ROWS)
    whole = compress(("\n".join(lines) + "\n").encode("utf-8"))
    data = whole[: int(len(whole) * 0.6)]
    digest = write_file(target, data)
    return {"name": target.name, "rows": TRUNCATED_ROWS, "sha256": digest, "bytes": len(data)}
