"""Check a table with the output-checking rules before it leaves the research group.

Usage: ./spark-submit.sh check-output TABLE --by COL[,COL] [--layers COL,...]
           [--value COL] [--contributor COL]              (microdata)
           [--count COL [--total COL --top COL,COL]]      (an aggregated table)
           [--out DIR] [--no-margins] [--rules FILE] [--sep CHAR] [--show N]

TABLE: a Delta table folder, a Parquet file or folder, or a CSV file with a header row.
- Microdata (no --count), e.g. a table of the release: a cell is each group of the --by
  columns (one or two) within each combination of --layers; its count is its rows, or its
  distinct --contributor values. With --value it is a magnitude table: per cell the sum of
  the value and its largest contributions (a contributor's values summed), for the
  dominance and p-ratio rules.
- Aggregated (--count COL): one row per cell; --total and --top (the largest contributions
  of each cell, largest first) make it a magnitude table.
Rules (conf/output_check.yaml or --rules FILE): at least 10 contributors, the 2 largest at
most 90 % of a total, p-ratio 10 %, zeros for review; failing cells are suppressed, and
more cells so that the margins (added by the check) cannot give them back.
Writes DIR/safe.csv (the table that may leave, suppressed cells empty), DIR/report.csv (per
cell: figures, verdict, reasons, suppression: it stays in the research group) and
DIR/summary.json, and prints the verdicts. Exit 0: no cell fails; 3: cells fail (they are
suppressed in safe.csv); 2: bad input. Details: docs/outputcheck.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pseudolink import cli
from pseudolink.config import to_uri
from pseudolink.errors import InputError
from pseudolink.outputcheck import check_output, load_output_rules
from pseudolink.outputcheck.source import read_table

FAILED = 3


def columns(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", metavar="TABLE", help="Delta table, Parquet or CSV file")
    parser.add_argument(
        "--by",
        required=True,
        type=columns,
        metavar="COL[,COL]",
        help="the table's one or two classifying columns",
    )
    parser.add_argument(
        "--layers",
        type=columns,
        default=[],
        metavar="COL,...",
        help="columns each combination of which is a table of its own",
    )
    parser.add_argument("--value", metavar="COL", help="microdata: the amount summed per cell")
    parser.add_argument(
        "--contributor",
        metavar="COL",
        help="microdata: the unit counted (e.g. person_id); default: rows",
    )
    parser.add_argument("--count", metavar="COL", help="aggregated: the count column")
    parser.add_argument("--total", metavar="COL", help="aggregated: the total column")
    parser.add_argument(
        "--top",
        type=columns,
        default=[],
        metavar="COL,COL",
        help="aggregated: the largest contributions per cell, largest first",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="where to write (default: ./checked-<table name>)"
    )
    parser.add_argument(
        "--no-margins", action="store_true", help="add no margins (and so no secondary suppression)"
    )
    parser.add_argument(
        "--rules", metavar="FILE", help="rules file (default: conf/output_check.yaml)"
    )
    parser.add_argument("--sep", metavar="CHAR", help="CSV separator (default: from the header)")
    parser.add_argument(
        "--show",
        type=int,
        default=100,
        metavar="N",
        help="print at most N cells, failing and review first (default 100)",
    )


def main(ctx: cli.JobContext) -> int:
    args = ctx.args
    if args.count is None and (args.total or args.top):
        raise InputError("--total and --top describe an aggregated table: give --count too")
    if args.count is not None and (args.value or args.contributor):
        raise InputError("--value and --contributor describe microdata: leave out --count")
    rules = load_output_rules(args.rules or Path(ctx.config.conf_dir) / "output_check.yaml")
    name = Path(args.table.rstrip("/")).name.split(".")[0] or "table"
    df = read_table(ctx.spark, to_uri(args.table), args.table, args.sep)
    checked = check_output(
        df,
        args.by,
        layers=args.layers,
        value=args.value,
        contributor=args.contributor,
        count=args.count,
        total=args.total,
        tops=args.top or None,
        margins=not args.no_margins,
        rules=rules,
        where=args.table,
    )
    out = Path(args.out or f"checked-{name}")
    checked.write(out, table=args.table)
    for line in checked.lines(args.show):
        print(line)
    if len(checked.cells) > args.show:
        print(f"... and {len(checked.cells) - args.show} more cells in {out / 'report.csv'}")
    print(checked.summary())
    verdict = "PASS" if checked.passed else "FAIL (failing cells suppressed in safe.csv)"
    print(f"output check: {verdict}; written to {out}/ (safe.csv, report.csv, summary.json)")
    return 0 if checked.passed else FAILED


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
