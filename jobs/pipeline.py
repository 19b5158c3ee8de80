"""Run every stage that exists, in order, on the configured data root.

Usage: ./spark-submit.sh pipeline [--root DIR] [--conf FILE] [--stop-after STAGE]
       [--release-id ID]

Stages (lib/pseudolink/stages/pipeline.py): selfcheck (Spark + Delta round trip);
generate (the synthetic deliveries at the config's demo scale, only when the inbox holds
none); ingest (every new delivery into bronze); cohorts (the populations, their follow-up
and the extraction request); link (the sources to the populations, within their
windows); pseudonymise (identifiers to sequence numbers); release (coarsening, small cell
risk analysis with treatment, and the release as Delta tables when it passes); deliver
(the release encrypted for its researchers, to the SFTP server of deliver.sftp, else into
ROOT/outbox/<release-id>/); purge (every KSZ- and VDAB-derived table and file destroyed,
the plaintext release and the extraction request included, checked on disk).
On a root already purged, the stages up to release finished before the purge and are
skipped: the package is delivered as it is, never remade without the KSZ and VDAB data.
The demo config creates its keystore and a demo researcher key pair without a prompt:
the passphrase is PSEUDOLINK_PASSPHRASE or, failing that, an announced demo-only one.

Run again, it skips every stage that is done and whose inputs have not changed (markers
in trusted/_stages/): a run that was killed, or stopped with --stop-after, simply
continues, and a rerun on the same deliveries prints the first run's summary without
redoing anything.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.stages import pipeline
from pseudolink.stages.deliver import DEMO_ID


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stop-after",
        metavar="STAGE",
        choices=pipeline.NAMES,
        help="stop after this stage (" + ", ".join(pipeline.NAMES) + "); run again to go on",
    )
    parser.add_argument(
        "--release-id",
        metavar="ID",
        help="name of the release folder (default: release-YYYYMMDD, made unique)",
    )


def main(ctx: cli.JobContext) -> int:
    done = pipeline.run(ctx, getattr(ctx.args, "stop_after", None))
    cat = ctx.catalog
    if done.verdict:
        print(f"SCRA verdict:   {done.verdict.upper()}")
        print(f"SCRA report:    {done.markers['release'].extra['report']}")
    if done.release_id:
        print(f"release folder: {cat.release(done.release_id)}")
    if done.purged and done.purged["state"] == "done":
        print(f"purge:          KSZ and VDAB data destroyed ({cat.purge_marker()})")
    if done.delivered:
        sent = done.delivered
        print(f"package:        {sent['package']} ({sent['package_bytes']:,} bytes)")
        for up in sent["uploads"]:
            print(f"uploaded:       {up['server']}/{done.release_id}")
        if ctx.config.deliver.demo_recipient:
            key = cat.demo_dir_file() / f"{DEMO_ID}.key"
            print(
                f"demo decrypt:   ./spark-submit.sh decrypt {sent['package']} --key {key} --out DIR"
            )
    if done.stopped_after:
        print(f"stopped after:  {done.stopped_after} (run again to go on)")
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
