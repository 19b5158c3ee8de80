"""The audit trail: an append-only, hash-chained log of every job, in the trusted area.

``trusted/audit/events.jsonl`` holds one JSON event per line. Each event carries a
sequence number (1, 2, ...), the hash of the event before it (``prev``; 64 zeros for the
first) and its own ``hash``: SHA-256 over its canonical JSON (sorted keys, no spaces)
without the ``hash`` field. ``trusted/audit/head.json`` holds the sequence number and hash
of the last event, written after the event itself. :func:`verify` then finds:

- an edited event (its hash no longer matches its content, or, if the hash was
  recomputed, the next event's ``prev`` no longer matches);
- a removed event (a gap in the sequence numbers and a broken ``prev``);
- reordered events (sequence numbers out of order, broken ``prev``);
- a truncated tail (the head names an event the log no longer has).

It cannot find a consistent rewrite of the whole log and the head by someone who can
write to ``trusted/audit/``: SHA-256 needs no key. Against that, the head at a point in
time is an anchor kept elsewhere (every delivery package's signed manifest carries it;
``audit verify --anchor SEQ:HASH`` checks that the log still holds it). Events hold no
identifier: paths relative to the data root, counts, the config's hash, and error
messages with INSZ masked. Details: docs/audit.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import pwd
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pseudolink import __version__
from pseudolink.config import Config, uri_to_local_path
from pseudolink.errors import ConfigError, PseudolinkError
from pseudolink.masking import mask_insz

AUDIT_DIR = "audit"
EVENTS = "events.jsonl"
HEAD = "head.json"
LOCK = ".lock"
GENESIS = "0" * 64
REQUIRED = ("seq", "prev", "time", "job", "status", "hash")


class AuditError(PseudolinkError):
    """The audit log is altered, unreadable or cannot be written."""


def canonical(obj: Any) -> bytes:
    """The one byte form that is hashed: sorted keys, no spaces, ASCII."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    ).encode("ascii")


def event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in event.items() if k != "hash"})).hexdigest()


@dataclass
class AuditNotes:
    """What a job's stages read, wrote and counted; the job runner turns it into one event."""

    stages: list[dict[str, Any]] = field(default_factory=list)
    # False: the job appends no event (``audit verify`` on a broken log does not extend it).
    record: bool = True

    def add(
        self,
        stage: str,
        inputs: list[str] | tuple[str, ...] = (),
        outputs: list[str] | tuple[str, ...] = (),
        counts: dict[str, Any] | None = None,
        **details: Any,
    ) -> None:
        self.stages.append(
            {
                "stage": stage,
                "inputs": sorted(inputs),
                "outputs": sorted(outputs),
                "counts": counts or {},
                **details,
            }
        )


def audit_folder(config: Config) -> Path:
    """``trusted/audit/`` on the local disk (like the keystore, the trusted area's audit
    log needs a file:// data root)."""
    return uri_to_local_path(config.zone("trusted")) / AUDIT_DIR


def config_hash(config: Config) -> str:
    """SHA-256 of the validated config (without its file name) and of conf/release.yaml."""
    values = dataclasses.asdict(config)
    values.pop("source", None)
    release = config.conf_dir / "release.yaml"
    extra = hashlib.sha256(release.read_bytes()).hexdigest() if release.exists() else None
    return hashlib.sha256(canonical({"config": values, "release.yaml": extra})).hexdigest()


@cache
def code_version() -> str:
    """The git commit of the code (``-dirty`` with uncommitted changes), else the version."""
    home = Path(os.environ.get("PSEUDOLINK_HOME", Path(__file__).resolve().parents[2]))
    try:
        commit = subprocess.run(
            ["git", "-C", str(home), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(home), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"pseudolink {__version__}"
    return f"git {commit}{'-dirty' if dirty else ''}" if commit else f"pseudolink {__version__}"


def relative(config: Config, uri: str) -> str:
    """A path of the data root as ``zone/...`` (events do not repeat the root)."""
    root = config.root.rstrip("/") + "/"
    return uri[len(root) :] if uri.startswith(root) else uri


class AuditLog:
    """The log and its head in one folder; appends hold an exclusive file lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.events = folder / EVENTS
        self.head = folder / HEAD

    @contextlib.contextmanager
    def _locked(self):  # noqa: ANN202 - a context manager
        _private_dirs(self.folder)
        with open(self.folder / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def last(self) -> dict[str, Any] | None:
        """The last complete event, or None for an empty log. A last line that is not
        valid JSON but ends in a newline is an altered log: an error."""
        if not self.events.exists():
            return None
        lines = self.events.read_bytes().split(b"\n")
        complete = lines[:-1]  # what follows the last newline was never completed
        if not complete:
            return None
        try:
            event = json.loads(complete[-1])
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise AuditError(
                f"{self.events}: line {len(complete)} is not a JSON event: the log was "
                "altered; run ./spark-submit.sh audit verify"
            ) from None
        if not isinstance(event, dict) or any(k not in event for k in REQUIRED):
            raise AuditError(
                f"{self.events}: line {len(complete)} is not an audit event: the log was "
                "altered; run ./spark-submit.sh audit verify"
            )
        return event

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Chain ``record`` to the last event, write it, then move the head to it."""
        with self._locked():
            repaired = self._drop_torn_tail()
            last = self.last()
            event = {
                **record,
                "seq": (int(last["seq"]) + 1) if last else 1,
                "prev": last["hash"] if last else GENESIS,
            }
            if repaired:
                event["repaired"] = repaired
            event["hash"] = event_hash(event)
            line = canonical(event) + b"\n"
            fd = os.open(self.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._write_head(event)
            return event

    def _drop_torn_tail(self) -> str | None:
        """A last line without its newline was cut off mid-write (the head never named
        it): drop it so the log stays one event per line."""
        if not self.events.exists():
            return None
        data = self.events.read_bytes()
        if not data or data.endswith(b"\n"):
            return None
        keep = data.rfind(b"\n") + 1
        with open(self.events, "r+b") as fh:
            fh.truncate(keep)
            os.fsync(fh.fileno())
        return f"an unfinished last line of {len(data) - keep} bytes was dropped"

    def _write_head(self, event: dict[str, Any]) -> None:
        tmp = self.head.with_name(f".{HEAD}.tmp")
        content = json.dumps({"seq": event["seq"], "hash": event["hash"], "time": event["time"]})
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, content.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.head)

    def read_head(self) -> dict[str, Any] | None:
        if not self.head.exists():
            return None
        try:
            head = json.loads(self.head.read_text(encoding="utf-8"))
            return {"seq": int(head["seq"]), "hash": str(head["hash"])}
        except (ValueError, KeyError, TypeError):
            raise AuditError(f"{self.head}: not a valid head (seq and hash expected)") from None


@dataclass
class Verification:
    """What :func:`verify` found: ``problems`` empty means the chain is intact."""

    events: int = 0
    head: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(folder: Path, anchor: tuple[int, str] | None = None) -> Verification:
    """Check every event's hash, sequence number and link, the head and an anchor."""
    log = AuditLog(folder)
    out = Verification()
    lines = log.events.read_bytes().split(b"\n") if log.events.exists() else [b""]
    if lines[-1]:
        out.notes.append(f"an unfinished last line of {len(lines[-1])} bytes (ignored)")
    events: list[dict[str, Any]] = []
    prev = GENESIS
    for number, raw in enumerate(lines[:-1], start=1):
        where = f"{log.events.name} line {number}"
        try:
            event = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            out.problems.append(f"{where}: not valid JSON (edited)")
            prev = None
            continue
        if not isinstance(event, dict) or any(k not in event for k in REQUIRED):
            out.problems.append(f"{where}: not an audit event (fields missing)")
            prev = None
            continue
        seq = event["seq"]
        if event["hash"] != event_hash(event):
            out.problems.append(f"{where} (event {seq}): edited: its hash does not match")
        if seq != number:
            kind = "reordered" if isinstance(seq, int) and seq < number else "removed"
            out.problems.append(
                f"{where}: holds event {seq}, expected event {number} (events {kind})"
            )
        if prev is not None and event["prev"] != prev:
            out.problems.append(
                f"{where} (event {seq}): its prev does not match the event before it "
                "(an event before it was edited, removed or moved)"
            )
        prev = event["hash"]
        events.append(event)
    out.events = len(events)
    out.head = log.read_head()
    _check_head(out, events, log)
    if anchor is not None:
        seq, digest = anchor
        if not (0 < seq <= len(events)) or events[seq - 1]["hash"] != digest:
            out.problems.append(f"anchor {seq}:{digest[:16]}...: the log does not hold it")
    return out


def _check_head(out: Verification, events: list[dict[str, Any]], log: AuditLog) -> None:
    head = out.head
    if head is None:
        if events:
            out.problems.append(f"{log.head.name} is missing: a truncated log cannot be told")
        return
    if head["seq"] > len(events):
        out.problems.append(
            f"{log.head.name} names event {head['seq']}, the log ends at event "
            f"{len(events)}: events were removed from the end"
        )
    elif events[head["seq"] - 1]["hash"] != head["hash"]:
        out.problems.append(
            f"{log.head.name}: event {head['seq']} does not have the head's hash (edited)"
        )
    elif head["seq"] < len(events):
        out.notes.append(
            f"{len(events) - head['seq']} event(s) after the head (an append stopped "
            "before moving the head; the next append moves it)"
        )


def record_job(
    ctx: Any, status: str, exit_code: int, error: str | None = None
) -> dict[str, Any] | None:
    """Append the event of one finished job (``ctx`` is the job's JobContext)."""
    notes: AuditNotes = ctx.audit
    if not notes.record:
        return None
    try:
        folder = audit_folder(ctx.config)
    except ConfigError:
        ctx.log.warning("audit: %s is not on the local disk: no event written", ctx.config.root)
        return None
    inputs = sorted({p for s in notes.stages for p in s["inputs"]})
    outputs = sorted({p for s in notes.stages for p in s["outputs"]})
    now = dt.datetime.now(dt.UTC)
    record = {
        "time": now.isoformat(timespec="milliseconds"),
        "started": getattr(ctx, "started_at", None),
        "job": ctx.name,
        "status": status,
        "exit_code": exit_code,
        "error": mask_insz(error[:500]) if error else None,
        "user": current_user(),
        "root": ctx.config.root,
        "config": ctx.config.source,
        "config_sha256": config_hash(ctx.config),
        "code_version": code_version(),
        "arguments": _arguments(ctx.args),
        "inputs": inputs,
        "outputs": outputs,
        "counts": {s["stage"]: s["counts"] for s in notes.stages},
        "stages": notes.stages,
    }
    return AuditLog(folder).append(record)


def check_writable(config: Config) -> None:
    """Before a job starts: the log's last event must be readable (else the job would run
    and then fail to record itself)."""
    try:
        folder = audit_folder(config)
    except ConfigError:
        return
    AuditLog(folder).last()


def _arguments(args: Any) -> dict[str, Any]:
    values = vars(args) if args is not None else {}
    return {
        k: mask_insz(v) if isinstance(v, str) else v
        for k, v in values.items()
        if k not in ("conf", "root")
    }


def current_user() -> str:
    """Who runs the job, from the process's uid (``$USER`` and ``$LOGNAME`` can be set to
    anything); under sudo, the invoking user as well (``SUDO_USER``: root's audit trail
    names who became root)."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"uid {uid}"
    sudo = os.environ.get("SUDO_USER")
    return f"{name} (sudo by {sudo})" if sudo and uid == 0 else name


def _private_dirs(folder: Path) -> None:
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)
