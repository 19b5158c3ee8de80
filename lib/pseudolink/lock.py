"""One job at a time per data root: an exclusive lock on ``ROOT/_lock``.

Every job that writes under the data root takes the lock before it starts (the job
runner does it, :func:`pseudolink.cli.run`); a second job started on the same root while
the first runs is refused with one line naming the job that holds it, its process id and
when it started. The lock is an operating-system lock (``flock``) on an open file: the
kernel releases it when the process ends, however it ends, so a run killed with SIGKILL
leaves no stale lock behind and the next run simply starts.

Limits: ``flock`` works on the local file system and on shared mounts that support it
(NFS v4 with locking); a data root on HDFS or S3 has no lock (the job logs that), so
there the operator runs one job at a time. Within one process the lock is re-entrant:
the pipeline holds it for all its stages.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pseudolink.config import _SCHEME
from pseudolink.errors import PseudolinkError

LOCK_FILE = "_lock"
_held: dict[str, int] = {}  # lock path -> depth, for this process


class RootBusy(PseudolinkError):
    """Another job holds the data root."""


def local_root(root: str) -> Path | None:
    """The local folder of a data root, or None for a remote one (hdfs://, s3a://...)."""
    if root.startswith("file://"):
        return Path(root[len("file://") :])
    if _SCHEME.match(root):
        return None
    return Path(root)


@contextmanager
def root_lock(root: str, job: str) -> Iterator[Path | None]:
    """Hold the data root's lock while the block runs; refuse if another process has it."""
    folder = local_root(root)
    if folder is None:
        yield None
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / LOCK_FILE).resolve()
    key = str(path)
    if key in _held:
        _held[key] += 1
        try:
            yield path
        finally:
            _held[key] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            why = f"{folder}: {_holder(fd)}; refused to start a second job on it"
            raise RootBusy(why) from None
        holder = {
            "job": job,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        _held[key] = 1
        try:
            yield path
        finally:
            del _held[key]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """Who holds the lock, from what they wrote in the lock file."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "the data root is in use by another job"
    return (
        f"the data root is in use by the job '{info.get('job')}' (process {info.get('pid')} "
        f"on {info.get('host')}, started {info.get('started')})"
    )
