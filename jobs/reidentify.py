"""Trusted third party only: from sequence numbers back to INSZ (or household ids).

Usage: PSEUDOLINK_PASSPHRASE=... ./spark-submit.sh reidentify --person-seq N [N ...]
       --case REF --reason "legal reason" --approved-by NAME [--root DIR]
       (or --household-seq N [N ...] instead of --person-seq)

For a documented legal reason only. The answer goes to ROOT/trusted/reidentify/<time>-
<case>.csv (mode 600), never to the terminal; every use first appends an audit record
(time, user, approver, case, reason, numbers asked and found, SHA-256 of the answer) to
ROOT/trusted/audit/reidentify.jsonl. At most 10 numbers per request; the approver is not
the one running it.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.stages import reidentify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--person-seq", type=int, nargs="+", metavar="N", help="person numbers")
    which.add_argument(
        "--household-seq", type=int, nargs="+", metavar="N", help="household numbers"
    )
    parser.add_argument("--case", required=True, help="case or file reference of the request")
    parser.add_argument("--reason", required=True, help="the legal reason, in words")
    parser.add_argument(
        "--approved-by",
        required=True,
        metavar="NAME",
        help="who approved the request (not the one running it; recorded in the audit)",
    )


def main(ctx: cli.JobContext) -> int:
    if ctx.args.person_seq:
        domain, numbers = "persons", ctx.args.person_seq
    else:
        domain, numbers = "households", ctx.args.household_seq
    reidentify.run(ctx, domain, numbers, ctx.args.reason, ctx.args.case, ctx.args.approved_by)
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
