"""Manage the keystore of the project secret: init, verify or rotate.

Usage: PSEUDOLINK_PASSPHRASE=... ./spark-submit.sh keys init|verify|rotate [--root DIR]

init    create ROOT/trusted/keystore/keystore.json with a new random secret
verify  open it (checks the passphrase and integrity) and check the key tables: made
        with this key, one distinct number per token
rotate  a new secret; the key tables are re-keyed, every sequence number stays the same
        (after a crash, run it again to finish)
The passphrase comes from PSEUDOLINK_PASSPHRASE or an interactive prompt. Keystore
format and recovery: docs/keys.md.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.stages import keys, pseudonymise


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["init", "verify", "rotate"], help="what to do")


def main(ctx: cli.JobContext) -> int:
    if ctx.args.action == "init":
        keys.init(ctx)
    elif ctx.args.action == "verify":
        keys.verify(ctx)
    else:
        keys.rotate(ctx, pseudonymise.identifiers(pseudonymise.tables(ctx)))
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
