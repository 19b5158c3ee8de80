"""Open a delivery package with a researcher's private key: verify and decrypt it.

Researcher side, no Spark: needs Python 3.10+ and the ``cryptography`` package only.

    PYTHONPATH=lib python -m pseudolink.deliver.decrypt PACKAGE --key KEY.pem --out DIR \\
        [--signer-key SIGNER.pub]
    PYTHONPATH=lib python -m pseudolink.deliver.decrypt --new-key DIR/NAME

The first checks the package's signature (against --signer-key, the sender's key given to
you once out of band; without it, against the key inside the package, which proves
integrity but not who sent it), refuses a package past its end date, unwraps the data
key with KEY.pem and decrypts into DIR/<release-id>/, every file checked. Nothing is left
half-done. The second makes a key pair: NAME.key (private, mode 600; encrypted with
PSEUDOLINK_KEY_PASSPHRASE when set) and NAME.pub (give this one to the trusted third
party). Exit 0 done, 2 a problem (one line saying what).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pseudolink.deliver.keys import load_private_key, new_key_pair
from pseudolink.deliver.unpack import open_package
from pseudolink.errors import PseudolinkError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", nargs="?", type=Path, help="the package folder")
    parser.add_argument("--key", type=Path, metavar="FILE", help="your X25519 private key")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where the release goes")
    parser.add_argument(
        "--signer-key",
        type=Path,
        metavar="FILE",
        help="the sender's Ed25519 public key, pinned (recommended)",
    )
    parser.add_argument(
        "--new-key", type=Path, metavar="PATH", help="make a key pair PATH.key and PATH.pub"
    )


def decrypt(args: argparse.Namespace) -> list[str]:
    """Do what the options ask; return the lines to print."""
    if args.new_key is not None:
        base = args.new_key
        fp = new_key_pair(base.with_name(base.name + ".key"), base.with_name(base.name + ".pub"))
        return [
            f"private key: {base}.key (keep it; never send it)",
            f"public key:  {base}.pub (fingerprint {fp}): give it to the trusted third party",
        ]
    if args.package is None or args.key is None or args.out is None:
        raise PseudolinkError("give PACKAGE, --key FILE and --out DIR (or --new-key PATH)")
    done = open_package(args.package, load_private_key(args.key), args.out, args.signer_key)
    lines = [
        f"release {done['release_id']}: {done['files']} files verified and decrypted",
        f"folder:   {done['folder']}",
        f"keep until {done['end_date']}, then destroy it",
    ]
    if not done["signer_pinned"]:
        lines.append(
            f"warning: signature checked with the key inside the package ({done['signer'][:16]}"
            "...): pass --signer-key to know it comes from the trusted third party"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    summary, _, rest = (__doc__ or "").partition("\n")
    parser = argparse.ArgumentParser(
        prog="python -m pseudolink.deliver.decrypt",
        description=summary,
        epilog=rest.strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        for line in decrypt(args):
            print(line)
    except PseudolinkError as exc:
        print(f"decrypt: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
