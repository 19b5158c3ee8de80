"""Run every stage that exists, in order, on the configured data root.

Usage: ./spark-submit.sh pipeline [--root DIR] [--conf FILE]

Stages: selfcheck (Spark + Delta round trip); generate (the synthetic deliveries at the
config's demo scale, only when the inbox holds none); ingest (every new delivery into
bronze); cohorts (the populations, their follow-up and the extraction request); link
(the sources to the populations, within their windows); pseudonymise (identifiers to
sequence numbers); release (coarsening, small cell risk analysis with treatment, and the
release as Delta tables when it passes); purge (the KSZ and VDAB data destroyed, checked on
disk); deliver (the release encrypted for its researchers, to the SFTP server of
deliver.sftp, else into ROOT/outbox/<release-id>/). On a root already purged, the stages
up to release finished before the purge and are skipped: the release is delivered as it
is, never remade without the KSZ and VDAB data. The demo config creates its keystore and
a demo researcher key pair without a prompt: the passphrase is PSEUDOLINK_PASSPHRASE or,
failing that, an announced demo-only one.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.config import uri_to_local_path
from pseudolink.purged import marker_path, purge_state
from pseudolink.stages import (
    cohorts,
    deliver,
    generate,
    ingest,
    link,
    pseudonymise,
    purge,
    release,
    selfcheck,
)


def main(ctx: cli.JobContext) -> int:
    ctx.log.info("pipeline: data root %s", ctx.config.root)
    selfcheck.run(ctx)
    state = purge_state(ctx)
    if state is None:
        release_id = up_to_release(ctx)
        purge.run(ctx, release_id)
    else:
        release_id = state["release_id"]
        ctx.log.info(
            "pipeline: the KSZ and VDAB data were %s by purge (%s): generate, ingest, "
            "cohorts, link, pseudonymise and release finished before it: skipped",
            "destroyed" if state["state"] == "done" else "partly destroyed",
            marker_path(ctx),
        )
        if state["state"] != "done":
            purge.run(ctx, release_id)  # finish an interrupted purge
    delivered = deliver.run(ctx, release_id)
    ctx.log.info("pipeline: done in %s", ctx.elapsed())
    print(f"release folder: {ctx.config.zone('release')}/{release_id}")
    print(f"purge:          KSZ and VDAB data destroyed ({marker_path(ctx)})")
    print(f"package:        {delivered['package']} ({delivered['package_bytes']:,} bytes)")
    for up in delivered["uploads"]:
        print(f"uploaded:       {up['server']}/{release_id}")
    if ctx.config.deliver.demo_recipient:
        key = f"{ctx.config.root}/{deliver.DEMO_DIR}/{deliver.DEMO_ID}.key"
        print(
            f"demo decrypt:   ./spark-submit.sh decrypt {delivered['package']} "
            f"--key {uri_to_local_path(key)} --out DIR"
        )
    return 0


def up_to_release(ctx: cli.JobContext) -> str:
    """generate (when the inbox is empty), ingest, cohorts, link, pseudonymise, release;
    their summaries; returns the release id."""
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
    print(f"SCRA verdict:   {released.verdict.upper()}")
    print(f"SCRA report:    {released.report}")
    return released.release_id


if __name__ == "__main__":
    cli.run(__doc__, None, main)
