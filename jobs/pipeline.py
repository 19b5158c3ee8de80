"""Run every stage that exists, in order, on the configured data root.

Usage: ./spark-submit.sh pipeline [--root DIR] [--conf FILE]

Stages: selfcheck (Spark + Delta round trip); generate (the synthetic deliveries at the
config's demo scale, only when the inbox holds none). Later stages are added here.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.config import uri_to_local_path
from pseudolink.stages import generate, selfcheck


def main(ctx: cli.JobContext) -> int:
    ctx.log.info("pipeline: data root %s", ctx.config.root)
    outputs = [selfcheck.run(ctx)]
    inbox = uri_to_local_path(ctx.config.zone("inbox"))
    if generate.inbox_has_deliveries(inbox):
        ctx.log.info("pipeline: generate skipped, the inbox already holds deliveries")
    else:
        generate.run(ctx)
    outputs.append(ctx.config.zone("inbox"))
    ctx.log.info("pipeline: done in %s. Output: %s", ctx.elapsed(), ", ".join(outputs))
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
