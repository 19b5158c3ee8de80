"""Replace every identifier of the linked tables by its meaningless sequence number.

Usage: PSEUDOLINK_PASSPHRASE=... ./spark-submit.sh pseudonymise [--root DIR] [--conf FILE]

Opens the keystore (passphrase from PSEUDOLINK_PASSPHRASE or a prompt; a demo config
creates one), computes keyed tokens (HMAC-SHA256; conf pseudonymise.method: native or
udf), numbers new tokens in the key tables ROOT/trusted/keys/{persons,households} (MERGE:
known ones keep their number), and writes ROOT/trusted/pseudonymised/<table>. Each
written table is checked for INSZ-like values and household ids; a finding fails the run.
Details: docs/pseudonymise.md.
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.stages import pseudonymise


def main(ctx: cli.JobContext) -> int:
    pseudonymise.run(ctx)
    return 0


if __name__ == "__main__":
    cli.run(__doc__, None, main)
