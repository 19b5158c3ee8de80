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

Run again, it skips every stage that is done and whose inputs have not changed (markers
in trusted/_stages/): a run that was killed simply continues, and a rerun on the same
deliveries prints the first run's summary without redoing anything.
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
from pseudolink.stages.state import PipelineState, fingerprint, ledger_deliveries


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
    """generate (when the inbox is empty), ingest, cohorts, link, pseudonymise, release,
    each skipped when its marker is up to date; their summaries; returns the release id."""
    inbox = uri_to_local_path(ctx.config.zone("inbox"))
    if generate.inbox_has_deliveries(inbox) and not generate.interrupted(ctx):
        ctx.log.info("pipeline: generate skipped, the inbox already holds deliveries")
    else:
        generate.run(ctx, force=True)
    reports = ingest.run(ctx)
    state = PipelineState(ctx)
    deliveries = ledger_deliveries(ctx)
    statbel = [d for d in deliveries if d[0] == "statbel"]
    fp = fingerprint("cohorts", statbel, ctx.config.cohorts)
    done = [state.run("cohorts", fp, lambda: cohorts.pipeline_step(ctx))]
    fp = fingerprint("link", fp, deliveries, ctx.config.link)
    done.append(state.run("link", fp, lambda: link.pipeline_step(ctx)))
    fp = fingerprint("pseudonymise", fp)
    done.append(state.run("pseudonymise", fp, lambda: pseudonymise.pipeline_step(ctx)))
    fp = fingerprint("release", fp, release.rules_fingerprint(ctx))
    released = state.run("release", fp, lambda: release.pipeline_step(ctx))
    done.append(released)
    for report in reports:
        ctx.log.info("pipeline: ingest %s", report.summary())
    for marker in done:
        for line in marker.lines:
            ctx.log.info("pipeline: %s", line)
    ctx.log.info(
        "pipeline: output in %s (bronze/, trusted/populations/, trusted/linked/, "
        "trusted/pseudonymised/, release/, outbox/requests/)",
        ctx.config.root,
    )
    print(f"SCRA verdict:   {released.extra['verdict'].upper()}")
    print(f"SCRA report:    {released.extra['report']}")
    return released.extra["folder"].rstrip("/").rsplit("/", 1)[-1]


if __name__ == "__main__":
    cli.run(__doc__, None, main)
