"""Destroy the KSZ and VDAB data after linkage, pseudonymisation, release and delivery.

Usage: ./spark-submit.sh purge [--root DIR] [--conf FILE] [--release-id ID]

Refuses (exit 2, naming what is missing) unless the link read every bronze KSZ and VDAB
row, every linked table is pseudonymised, a release was made from them (the latest, or
--release-id) and its encrypted package is complete in ROOT/outbox/ (and uploaded, when a
server is configured). Then inventories what it destroys (rows, files, SHA-256) into
ROOT/trusted/audit/, and erases every KSZ- and VDAB-derived Delta table: bronze, linked,
pseudonymised, and the plaintext release tables (DELETE, REORG ... APPLY (PURGE) with
deletion vectors, VACUUM RETAIN 0 HOURS, then the folders), their quarantined lines, their
inbox files and the extraction request; checks the disk; marks ROOT/trusted/purge.json
done. Kept: Statbel's data, the populations, the key tables and keystore, Statbel's
pseudonymised tables, the reports, the audit log and the encrypted packages. Run again
after a crash to finish. Details: docs/purge.md.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.stages import purge


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--release-id", metavar="ID", help="the release that must exist (default: the latest)"
    )


def main(ctx: cli.JobContext) -> int:
    done = purge.run(ctx, ctx.args.release_id)
    print(f"purge:     {'already done' if done['already'] else 'done'} ({done['finished']})")
    print(f"inventory: {done['inventory']}")
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
