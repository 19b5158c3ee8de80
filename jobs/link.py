"""Link the bronze KSZ, VDAB and Statbel tables to the populations, within their windows.

Usage: ./spark-submit.sh link [--root DIR] [--conf FILE]

Reads ROOT/bronze/ and ROOT/trusted/populations/windows; writes ROOT/trusted/linked/
<source>/<kind> (Delta, partitioned by population and period; still with INSZ: trusted
third party only) and the linkage report ROOT/trusted/linked/_report (Delta) and
_report.json: per table, population and period, rows in, linked, outside the window, not
in a population, linkage rate. Join strategy: conf section link; rules: docs/link.md.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.stages import link


def main(ctx: cli.JobContext) -> int:
    for report in link.run(ctx):
        ctx.log.info("link: %s", report.summary())
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
