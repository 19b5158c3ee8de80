"""Generate the synthetic population and the Statbel, KSZ and VDAB deliveries.

Usage: ./spark-submit.sh generate [--root DIR] [--persons N] [--seed S] [--inject-faults] [--force]

Writes one folder per source and delivery to ROOT/inbox/<source>/<delivery>/ (CSV, UTF-8,
';'-separated, KSZ and VDAB gzip-compressed, with manifest.json) and the generator's truth
to ROOT/truth/ (populations.csv, faults.csv). Same seed and N give byte-identical files.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.errors import InputError
from pseudolink.stages import generate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--persons",
        type=int,
        metavar="N",
        help="residents on 1 January 2013 (default: generator.persons)",
    )
    parser.add_argument("--seed", type=int, metavar="S", help="random seed (default: config)")
    parser.add_argument(
        "--inject-faults",
        action="store_true",
        help="add known bad rows and files; listed in ROOT/truth/faults.csv",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace deliveries already in the inbox"
    )


def main(ctx: cli.JobContext) -> int:
    args = ctx.args
    if args.persons is not None and args.persons < 10:
        raise InputError(f"--persons: expected at least 10, got {args.persons}")
    generate.run(ctx, args.persons, args.seed, args.inject_faults, args.force)
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
