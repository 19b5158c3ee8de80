"""Check the runtime: start Spark with Delta, write a Delta table and read it back.

Usage: ./spark-submit.sh selfcheck [--root DIR] [--conf FILE]

Writes ROOT/_runtime/selfcheck (1000 rows) and exits 0 when they read back unchanged.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.stages import selfcheck


def main(ctx: cli.JobContext) -> int:
    selfcheck.run(ctx)
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
