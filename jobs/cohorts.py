"""Build the three stock populations, their follow-up and windows, and the extraction request.

Usage: ./spark-submit.sh cohorts [--root DIR] [--conf FILE]

Reads the bronze Statbel tables (DEMOBEL, CENSUS, DEMOBEL events) and writes, in the
trusted area, ROOT/trusted/populations/membership (person, population, role, household,
valid_from, valid_to, end_reason), .../moves and .../windows (Delta, with INSZ: trusted
third party only), and the INSZ list for KSZ and VDAB to ROOT/outbox/requests/<id>/.
Selection rules: conf/local.yaml, section cohorts; follow-up rules: docs/cohorts.md.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.stages import cohorts


def main(ctx: cli.JobContext) -> int:
    cohorts.run(ctx)
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
