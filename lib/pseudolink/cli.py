"""What every job shares: its command line, config, SparkSession and error handling.

A job module calls :func:`run` with its docstring, a function that adds its own options
and its main function. Every job that got as far as its config appends one event to the
hash-chained audit log of the trusted area (:mod:`pseudolink.audit`), whatever its
outcome. Errors the user can fix (:class:`PseudolinkError`) end in one
clear line and exit 2; anything else ends in one line naming the job, with the masked
traceback written to ``logs/`` for the developers, and exit 1. Never a bare stack trace,
never an INSZ on the terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pyspark.sql import SparkSession

from pseudolink import audit
from pseudolink.audit import AuditNotes
from pseudolink.catalog import Catalog
from pseudolink.config import Config, load_config
from pseudolink.errors import PseudolinkError
from pseudolink.lock import root_lock
from pseudolink.masking import configure_logging, mask_insz

DEFAULT_CONF = "conf/local.yaml"


@dataclass
class JobContext:
    """The parsed options, the config and (built on first use) the SparkSession."""

    name: str
    args: argparse.Namespace
    config: Config
    log: logging.Logger
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    )
    # What the stages read, wrote and counted: the job's audit event (pseudolink.audit).
    audit: AuditNotes = field(default_factory=AuditNotes)

    @cached_property
    def spark(self) -> SparkSession:
        from pseudolink.session import build_spark

        return build_spark(self.config.spark)

    @property
    def catalog(self) -> Catalog:
        """Every zone and table location of this job's data root."""
        return Catalog(self.config)

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.1f} s"


def parser_for(doc: str, name: str) -> argparse.ArgumentParser:
    """An argument parser with the options every job takes."""
    summary, _, rest = (doc or name).strip().partition("\n")
    parser = argparse.ArgumentParser(
        prog=f"./spark-submit.sh {name}",
        description=summary,
        epilog=rest.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--conf",
        default=DEFAULT_CONF,
        metavar="FILE",
        help=f"config file (default: {DEFAULT_CONF})",
    )
    parser.add_argument(
        "--root", metavar="DIR", help="data root, a path or URI (default: the config's root)"
    )
    return parser


def run(
    doc: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None,
    main: Callable[[JobContext], int | None],
    argv: list[str] | None = None,
    lock: bool = True,
) -> None:
    """Parse the command line, load the config and run ``main``; exit with its status.

    With ``lock`` (every job that writes under the data root) the job holds the root's
    lock (:mod:`pseudolink.lock`) while it runs: a second job on the same root is refused.
    """
    name = Path(sys.argv[0]).stem
    parser = parser_for(doc or "", name)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    log = configure_logging()
    try:
        ctx = JobContext(name, args, load_config(_config_path(args.conf), args.root), log)
        with root_lock(ctx.config.root, name) if lock else nullcontext():
            try:
                audit.check_writable(ctx.config)
                status, error = main(ctx) or 0, None
            except Exception as exc:  # noqa: BLE001 - turned into one line by _failure
                status, error = _failure(name, log, exc)
            except KeyboardInterrupt as exc:
                status, error = _failure(name, log, exc)
            # the audit event is appended while the lock is held: one writer at a time
            status = _record(ctx, status, error)
    except Exception as exc:  # noqa: BLE001 - the config or the lock: nothing ran
        status, _ = _failure(name, log, exc)
    except KeyboardInterrupt as exc:
        status, _ = _failure(name, log, exc)
    logging.shutdown()
    sys.exit(status)


def _failure(name: str, log: logging.Logger, exc: BaseException) -> tuple[int, str]:
    """The exit status and the one clear line (logged) for what a job raised."""
    if isinstance(exc, PseudolinkError):
        log.error("%s: %s", name, exc)
        return exc.exit_code, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        log.error("%s: interrupted", name)
        return 130, "interrupted"
    # the last line of defence: one line naming the job, the masked traceback in logs/
    report = _write_traceback(name)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    error = f"{type(exc).__name__}: {mask_insz(first[:300])}"
    log.error("%s failed unexpectedly: %s (details: %s)", name, error, report)
    return 1, error


def _record(ctx: JobContext, status: int, error: str | None) -> int:
    """Append the job's audit event; a job that did its work but cannot record it fails."""
    try:
        audit.record_job(ctx, "ok" if status == 0 else "failed", status, error)
    except (PseudolinkError, OSError) as exc:
        ctx.log.error("%s: its audit event could not be written: %s", ctx.name, exc)
        return status or 2
    return status


def _config_path(path: str) -> str:
    """The config as given, or as shipped by spark-submit --files in cluster mode."""
    if os.path.exists(path):
        return path
    try:
        from pyspark import SparkFiles

        shipped = SparkFiles.get(os.path.basename(path))
        return shipped if os.path.exists(shipped) else path
    except Exception:  # noqa: BLE001 - no SparkContext yet: keep the path for the error
        return path


def _write_traceback(name: str) -> str:
    folder = Path(os.environ.get("PSEUDOLINK_LOG_DIR", "logs"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.log"
        path.write_text(mask_insz(traceback.format_exc()) or "", encoding="utf-8")
        return str(path)
    except OSError:
        return "no log written"
