"""Benchmark the pipeline: generate (untimed), then time every stage.

Usage: ./spark-submit.sh benchmark --root DIR --persons N [--variants]
       [--from-link | --from-release | --generate-only] [-- --driver-memory 6g]

Generates N persons into an empty DIR (kept for reruns at the same N), removes the derived
zones of an earlier run, runs ingest, cohorts, link, pseudonymise, release, deliver and
purge, and writes DIR/_benchmark/benchmark-N.json and .md: per stage the wall time, rows
in and out, rows/s, shuffle bytes and peak memory, the ingest's parse / reconcile / write
split, one parse-only pass over every file, the release's SCRA time, small cells and
suppressions, and the package's size. --variants adds the person tokens by pandas UDF and
by native expression, and the KSZ link by broadcast and by sort-merge join, side by side.
--from-link keeps the bronze tables and populations of an earlier run on DIR and starts at
link; --from-release keeps its pseudonymised tables too and times the release alone.
--generate-only makes (or checks) the data and stops, so that the timed run can start
later on a quiet machine.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.errors import InputError
from pseudolink.stages import benchmark


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--persons",
        type=int,
        required=True,
        metavar="N",
        help="residents on 1 January 2013 to generate",
    )
    parser.add_argument(
        "--variants",
        action="store_true",
        help="also time UDF vs native tokens and broadcast vs sort-merge link",
    )
    parser.add_argument(
        "--from-link",
        action="store_true",
        help="reuse the bronze tables and populations of an earlier run; start at link",
    )
    parser.add_argument(
        "--from-release",
        action="store_true",
        help="reuse the pseudonymised tables of an earlier run; time the release alone",
    )
    parser.add_argument(
        "--generate-only",
        action="store_true",
        help="generate the N persons' data into DIR (or check the data there) and stop",
    )


def main(ctx: cli.JobContext) -> int:
    if ctx.args.root is None:
        raise InputError("benchmark: --root DIR is required (an empty folder)")
    if ctx.args.from_link and ctx.args.from_release:
        raise InputError("benchmark: give --from-link or --from-release, not both")
    if ctx.args.generate_only:
        made = benchmark.ensure_data(ctx, ctx.args.persons)
        print(
            f"benchmark data: {made['rows']:,} rows for {ctx.args.persons:,} persons in "
            f"{ctx.config.zone('inbox')} ({'reused' if made.get('reused') else 'generated'})"
        )
        return 0
    start = "release" if ctx.args.from_release else "link" if ctx.args.from_link else "ingest"
    benchmark.run(ctx, ctx.args.persons, ctx.args.variants, start)
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
