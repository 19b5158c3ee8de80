"""Run every stage that exists, in order, on the configured data root.

Usage: ./spark-submit.sh pipeline [--root DIR] [--conf FILE]

Stages: selfcheck (Spark + Delta round trip); generate (the synthetic deliveries at the
config's demo scale, only when the inbox holds none); ingest (every new delivery into
bronze); cohorts (the populations, their follow-up and the extraction request).
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.config import uri_to_local_path
from pseudolink.stages import cohorts, generate, ingest, selfcheck


def main(ctx: cli.JobContext) -> int:
    ctx.log.info("pipeline: data root %s", ctx.config.root)
    selfcheck.run(ctx)
    inbox = uri_to_local_path(ctx.config.zone("inbox"))
    if generate.inbox_has_deliveries(inbox):
        ctx.log.info("pipeline: generate skipped, the inbox already holds deliveries")
    else:
        generate.run(ctx)
    reports = ingest.run(ctx)
    sizes = cohorts.run(ctx)
    ctx.log.info("pipeline: done in %s", ctx.elapsed())
    for report in reports:
        ctx.log.info("pipeline: ingest %s", report.summary())
    for year, counts in sorted(sizes.items()):
        ctx.log.info(
            "pipeline: population %d: %s", year, ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
    ctx.log.info(
        "pipeline: output in %s (bronze/, trusted/populations/, outbox/requests/)", ctx.config.root
    )
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
