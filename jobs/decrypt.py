"""Researcher side: verify a delivery package and decrypt it with a private key (no Spark).

Usage: ./spark-submit.sh decrypt PACKAGE --key KEY.pem --out DIR [--signer-key FILE]
       ./spark-submit.sh decrypt --new-key DIR/NAME

Checks the package's signature (against --signer-key, the sender's pinned public key, else
against the key inside the package), refuses a release past its end date, unwraps the data
key with the private key and decrypts into DIR/<release-id>/, every file checked against
the signed manifest; nothing is left half-done. --new-key makes a researcher key pair.
Researchers without this tooling run the same code with Python and the cryptography
package only: PYTHONPATH=lib python -m pseudolink.deliver.decrypt ... (docs/deliver.md).
"""

from __future__ import annotations

from pseudolink import cli
from pseudolink.deliver import decrypt


def main(ctx: cli.JobContext) -> int:
    for line in decrypt.decrypt(ctx.args):  # no Spark: ctx.spark is never touched
        print(line)
    return 0


if __name__ == "__main__":
    cli.run(__doc__, decrypt.add_arguments, main)
