"""Verify the append-only, hash-chained audit log of every job (trusted area).

Usage: ./spark-submit.sh audit verify [--root DIR] [--anchor SEQ:HASH]

Reads ROOT/trusted/audit/events.jsonl and head.json and checks every event's hash,
sequence number and link to the event before it, and the head: an edited, removed or
reordered event, or events cut off the end, fail with exit 2 and say where. --anchor
checks that the log still holds an event whose hash was noted elsewhere (each delivery
package's manifest carries the head at the time). Needs no Spark. Details: docs/audit.md.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.stages import audit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["verify"], help="what to do")
    parser.add_argument(
        "--anchor", metavar="SEQ:HASH", help="an event (number and hash) the log must hold"
    )


def main(ctx: cli.JobContext) -> int:
    found = audit.run(ctx, ctx.args.anchor)
    ctx.log.info("audit: %d events, chain intact (%s)", found["events"], found["folder"])
    print(f"audit log: {found['events']} events, chain intact")
    print(f"head:      {found['head']['seq']}:{found['head']['hash']}")
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
