"""The purge marker, ``trusted/purge.json``: the one place that says the KSZ and VDAB data of
a data root were destroyed (or are being destroyed): the deliveries, their bronze, linked and
pseudonymised tables, the plaintext copy of the releases made from them and the extraction
request (docs/purge.md).

``purge`` writes it with ``state: started`` before its first destructive step and sets
``state: done`` when the disk holds nothing of them. The stages that would need those data
(ingest of a new delivery, link, pseudonymise) ask :func:`refuse_if_purged` first and stop
with a clear error; the pipeline skips every stage that finished before the purge.
"""

from __future__ import annotations

import json
from typing import Any

from pseudolink.errors import PseudolinkError
from pseudolink.storage import HadoopFs

MARKER = "purge.json"
PURGED_SOURCES = ("ksz", "vdab")
# The tables of trusted/pseudonymised/ made from them (link.rules.RULES' kinds of those
# sources; tests/test_purge.py checks the two agree).
PURGED_TABLES = ("ksz_quarterly", "vdab_quarterly", "vdab_activation", "vdab_employment")


class PurgedError(PseudolinkError):
    """A stage needs data that purge destroyed."""


def marker_path(ctx: Any) -> str:
    return f"{ctx.config.zone('trusted')}/{MARKER}"


def purge_state(ctx: Any) -> dict[str, Any] | None:
    """The marker's content, or None when this root was never purged."""
    fs = HadoopFs(ctx.spark)
    path = marker_path(ctx)
    if not fs.exists(path):
        return None
    try:
        state = json.loads(fs.read_bytes(path))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PurgedError(f"{path}: not valid JSON (the purge marker was altered)") from None
    if not isinstance(state, dict) or state.get("state") not in ("started", "done"):
        raise PurgedError(f"{path}: expected state 'started' or 'done' (the marker was altered)")
    return state


def write_state(ctx: Any, state: dict[str, Any]) -> None:
    HadoopFs(ctx.spark).write_text(marker_path(ctx), json.dumps(state, indent=2) + "\n")


def refuse_if_purged(ctx: Any, stage: str, needs: str) -> None:
    """Stop ``stage`` when the KSZ and VDAB data it ``needs`` were destroyed."""
    state = purge_state(ctx)
    if state is None:
        return
    path = marker_path(ctx)
    if state["state"] == "started":
        raise PurgedError(
            f"{stage}: a purge of the KSZ and VDAB data was started ({path}) and has not "
            "finished: run ./spark-submit.sh purge again to finish it; nothing was done"
        )
    raise PurgedError(
        f"{stage}: the KSZ and VDAB data of this data root were destroyed by purge on "
        f"{state.get('finished', '?')} ({path}); {stage} needs {needs}. Kept: Statbel's "
        "data, the populations, the key tables, Statbel's pseudonymised tables, the reports "
        f"and the encrypted package of release {state.get('release_id', '?')} (its plaintext "
        "tables were destroyed too). A new linkage needs new KSZ and VDAB deliveries in a "
        "new data root; nothing was done"
    )
