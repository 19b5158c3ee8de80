"""Run every stage that exists, in order, on the configured data root.

Usage: ./spark-submit.sh pipeline [--root DIR] [--conf FILE]

Stages: selfcheck (Spark + Delta round trip); generate (the synthetic deliveries at the
config's demo scale, only when the inbox holds none); ingest (every new delivery into
bronze); cohorts (the populations, their follow-up and the extraction request); link
(the sources to the populations, within their windows); pseudonymise (identifiers to
sequence numbers); release (coarsening, small cell risk analysis with treatment, and the
release as Delta tables when it passes). The demo config creates its keystore without a
prompt: the passphrase is PSEUDOLINK_PASSPHRASE or, failing that, an announced demo-only
one.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.config import uri_to_local_path
from pseudolink.stages import (
    cohorts,
    generate,
    ingest,
    link,
    pseudonymise,
    release,
    selfcheck,
)


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
    linkage = link.run(ctx)
    pseudonymised = pseudonymise.run(ctx)
    released = release.run(ctx)
    ctx.log.info("pipeline: done in %s", ctx.elapsed())
    for report in reports:
        ctx.log.info("pipeline: ingest %s", report.summary())
    for year, counts in sorted(sizes.items()):
        ctx.log.info(
            "pipeline: population %d: %s", year, ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
    for report in linkage:
        ctx.log.info("pipeline: link %s", report.summary())
    for domain, counts in pseudonymised["domains"].items():
        ctx.log.info(
            "pipeline: pseudonymise %s: %s numbers (%s new)",
            domain,
            f"{counts['total']:,}",
            f"{counts['added']:,}",
        )
    ctx.log.info("pipeline: %s", released.summary_line())
    ctx.log.info(
        "pipeline: output in %s (bronze/, trusted/populations/, trusted/linked/, "
        "trusted/pseudonymised/, release/, outbox/requests/)",
        ctx.config.root,
    )
    print(f"release folder: {released.folder}")
    print(f"SCRA verdict:   {released.verdict.upper()}")
    print(f"SCRA report:    {released.report}")
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
