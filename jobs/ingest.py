"""Ingest new deliveries from the inbox into validated, typed bronze Delta tables.

Usage: ./spark-submit.sh ingest [--root DIR] [--conf FILE] [--delivery ID]

Reads ROOT/inbox/<source>/<delivery_id>/ (manifest.json and its files), checks the
manifest, validates every line, writes ROOT/bronze/<source>/<kind>, the quarantine, the
ingest report and the ledger. A delivery already in the ledger is skipped. Prints one
summary line per delivery. Design and reason codes: docs/ingest.md.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.stages import ingest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delivery", metavar="ID", help="ingest only this delivery_id (default: every new one)"
    )


def main(ctx: cli.JobContext) -> int:
    reports = ingest.run(ctx, delivery=ctx.args.delivery)
    for report in reports:
        ctx.log.info("ingest: %s", report.summary())
    ctx.log.info("ingest: done in %s", ctx.elapsed())
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
