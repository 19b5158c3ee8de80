"""Coarsen, run the small cell risk analysis (SCRA) with treatment, and write the release.

Usage: ./spark-submit.sh release [--root DIR] [--conf FILE] [--release-id ID]
                                 [--corrected-rerelease REASON]

Reads ROOT/trusted/pseudonymised/, classes every variable by the rules of conf/release.yaml,
checks every scenario of the intruder model written there (sdcMicro's measures; persons,
households and VDAB rows, k from conf/release.yaml), recodes on the least-loss levels and
suppresses by importance until every scenario passes, and only then writes
ROOT/release/<release-id>/: Delta tables, dictionary.md, scra/scra_report.html and
manifest.json. A refused release (a scenario fails, or a key would lose more than
max_suppressed_share) writes nothing there, names the scenarios and exits 2; its report is
in ROOT/trusted/scra/<release-id>/.
The default release id is release-YYYYMMDD (with -2, -3... when it exists). Only what
conf/authorisation.yaml (deliberation 26/050) authorises is released, checked on the config
and again on the written tables. The study is one-off (§7): after the purge a release is
refused unless --corrected-rerelease gives the reason, which the audit log records. Details:
docs/release.md.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.stages import release


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--release-id",
        metavar="ID",
        help="name of the release folder (default: release-YYYYMMDD, made unique)",
    )
    parser.add_argument(
        "--corrected-rerelease",
        metavar="REASON",
        help="after the purge: make a corrected re-release (the study is one-off, §7); the "
        "reason goes to the audit log; the KSZ and VDAB tables, destroyed, are left out",
    )


def main(ctx: cli.JobContext) -> int:
    outcome = release.run(ctx, ctx.args.release_id, ctx.args.corrected_rerelease)
    print(f"release folder: {outcome.folder}")
    print(f"SCRA verdict:   {outcome.verdict.upper()}")
    print(f"SCRA report:    {outcome.report}")
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
