"""Settings of the ingest stage: the ``ingest:`` section of the config."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IngestSettings:
    """How the ingest stage reads and checks."""

    # Check the SHA-256 of every data file against the manifest (off only for benchmarks
    # on trusted copies: the check reads every byte once more, on the driver).
    verify_checksums: bool = True
