"""Destroy every release past its end date, with its packages and their data keys.

Usage: ./spark-submit.sh retention [--root DIR] [--conf FILE]

A release's end date is the earliest of its own (written when it was made) and the
config's retention.end_date (30 November 2033, deliberation 26/050). Past it, the
packages' wrapped data keys are overwritten and removed (crypto-shredding), then the
packages in ROOT/outbox/ and on the SFTP server (deliver.sftp) and ROOT/release/<ID>/;
a tombstone in ROOT/trusted/retention/ makes deliver refuse the release for good, and
decrypt refuses it by the date its package carries. Details: docs/deliver.md.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.stages import retention


def main(ctx: cli.JobContext) -> int:
    done = retention.run(ctx)
    print(f"destroyed: {', '.join(d['release_id'] for d in done['destroyed']) or 'none'}")
    print(f"kept:      {', '.join(f'{r} (until {e})' for r, e in done['kept'].items()) or 'none'}")
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
