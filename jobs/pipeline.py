"""Run every stage that exists, in order, on the configured data root.

Usage: ./spark-submit.sh pipeline [--root DIR] [--conf FILE]

Stages: selfcheck (Spark + Delta round trip). Later stages are added here in order.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.stages import selfcheck


def main(ctx: cli.JobContext) -> int:
    ctx.log.info("pipeline: data root %s", ctx.config.root)
    table = selfcheck.run(ctx)
    ctx.log.info("pipeline: done in %s. Output: %s", ctx.elapsed(), table)
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
