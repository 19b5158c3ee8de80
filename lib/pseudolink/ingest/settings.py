"""Settings of the ingest stage: the ``ingest:`` section of the config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StorageLevelName = Literal["MEMORY_AND_DISK", "MEMORY_AND_DISK_DESER", "DISK_ONLY"]


@dataclass(frozen=True)
class IngestSettings:
    """How the ingest stage reads, caches and reports."""

    # Storage level of the per-kind frames the stage keeps between its passes: the lines
    # (numbered) and the validated rows. DISK_ONLY suits a driver with little memory.
    storage_level: StorageLevelName = "MEMORY_AND_DISK"
    # Check the SHA-256 of every data file against the manifest (off only for benchmarks
    # on trusted copies: the check reads every byte once more, on the driver).
    verify_checksums: bool = True
