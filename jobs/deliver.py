"""Package a release encrypted for its researchers and upload it over SFTP.

Usage: ./spark-submit.sh deliver [--root DIR] [--conf FILE] [--release-id ID]

Encrypts the release's files (AES-256-GCM, a fresh random data key), wraps the data key
for every authorised researcher's X25519 public key (HPKE; conf deliver.recipients), signs
the manifest (Ed25519, the trusted third party's key derived from the keystore: the
passphrase comes from PSEUDOLINK_PASSPHRASE or a prompt) and writes ROOT/outbox/<ID>/.
With deliver.sftp set, uploads it: pinned host key, key login, resumed after an
interruption, sizes and SHA-256 checked on the server, the manifest last. A release past
its end date (retention.end_date) is refused. Default ID: the latest release.
Details: docs/deliver.md.
"""

from __future__ import annotations

import argparse

from pseudolink import cli
from pseudolink.stages import deliver


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--release-id", metavar="ID", help="the release to deliver (default: the latest)"
    )


def main(ctx: cli.JobContext) -> int:
    done = deliver.run(ctx, ctx.args.release_id)
    print(f"package:   {done['package']} ({done['package_bytes']:,} bytes)")
    print(f"for:       {', '.join(r['id'] for r in done['recipients'])}")
    for up in done["uploads"]:
        print(f"uploaded:  {up['server']}/{done['release_id']} (verified)")
    return 0


if __name__ == "__main__":
    cli.run(__doc__, add_arguments, main)
