"""Every zone and table location under a data root, in one place.

The stages import their paths from here and never from each other. A location is a URI
(``file://``, ``hdfs://``, ``s3a://``) unless its name ends in ``_file``: those are local
paths (the keystore, the audit log, delivery records), which only the driver touches.

    ROOT/
      inbox/<source>/<delivery>/          deliveries with their MANIFEST (INSZ)
      bronze/<source>/<kind>              validated rows (Delta, INSZ)
      bronze/_ledger, _quarantine, _ingest_report, _reports/, _staging/
      trusted/populations/{membership,moves,windows}
      trusted/linked/<source>/<kind>, trusted/linked/_report(.json)
      trusted/pseudonymised/<table>
      trusted/keys/{persons,households}, trusted/keystore/keystore.json
      trusted/_stages/<stage>.json        the pipeline's markers
      trusted/purge.json                  the purge marker
      trusted/release_work/<id>/, trusted/scra/<id>/   a release in the making, refused
      trusted/deliveries/<id>.json, trusted/retention/<id>.json, trusted/audit/
      release/<id>/ ... manifest.json     a release is complete when its manifest is there
      outbox/requests/<request-id>/, outbox/<id>/package.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pseudolink.config import Config, uri_to_local_path
from pseudolink.keys.keystore import KEYSTORE_FILE

ZONES = ("inbox", "bronze", "trusted", "release", "outbox")

# The manifest of a delivery in the inbox, and of a release (written last).
MANIFEST = "manifest.json"
RELEASE_MANIFEST = "manifest.json"
PACKAGE_MANIFEST = "package.json"

# bronze/
LEDGER = "_ledger"
QUARANTINE = "_quarantine"
INGEST_REPORT = "_ingest_report"
REPORTS_DIR = "_reports"
STAGING = "_staging"  # per delivery and kind: the checked lines until they are written

# trusted/
POPULATIONS = "populations"
POPULATION_TABLES = ("membership", "moves", "windows")
LINKED = "linked"
LINK_REPORT = "_report"
PSEUDONYMISED = "pseudonymised"
KEYS = "keys"
KEYSTORE_DIR = "keystore"
STAGES = "_stages"
PURGE_MARKER = "purge.json"
RELEASE_WORK = "release_work"
SCRA_REFUSED = "scra"
DELIVERIES = "deliveries"
TOMBSTONES = "retention"
AUDIT_DIR = "audit"
REIDENTIFY_AUDIT = "audit/reidentify.jsonl"

# outbox/ and beside the zones
REQUESTS = "requests"
SELFCHECK = "_runtime/selfcheck"
DEMO_DIR = "researcher-demo"


@dataclass(frozen=True)
class Catalog:
    """The locations of one data root (the config's root)."""

    config: Config

    def zone(self, name: str) -> str:
        return self.config.zone(name)

    def local(self, name: str) -> Path:
        """A zone (or a folder beside the zones) as a local path."""
        return uri_to_local_path(self.config.zone(name))

    # inbox/ and bronze/
    def bronze_table(self, source: str, kind: str) -> str:
        return f"{self.zone('bronze')}/{source}/{kind}"

    def bronze(self, name: str) -> str:
        """A bookkeeping table or folder of bronze: LEDGER, QUARANTINE, INGEST_REPORT..."""
        return f"{self.zone('bronze')}/{name}"

    def delivery(self, source: str, delivery_id: str) -> str:
        return f"{self.zone('inbox')}/{source}/{delivery_id}"

    # trusted/
    def trusted(self, name: str) -> str:
        return f"{self.zone('trusted')}/{name}"

    def population(self, name: str) -> str:
        return f"{self.zone('trusted')}/{POPULATIONS}/{name}"

    def linked(self, source: str, kind: str) -> str:
        return f"{self.zone('trusted')}/{LINKED}/{source}/{kind}"

    def link_report(self, suffix: str = "") -> str:
        """The linkage report table (``suffix`` ``.json``: its JSON copy)."""
        return f"{self.zone('trusted')}/{LINKED}/{LINK_REPORT}{suffix}"

    def pseudonymised(self, name: str) -> str:
        return f"{self.zone('trusted')}/{PSEUDONYMISED}/{name}"

    def key_table(self, domain: str) -> str:
        return f"{self.zone('trusted')}/{KEYS}/{domain}"

    def keystore_file(self) -> Path:
        return self.local("trusted") / KEYSTORE_DIR / KEYSTORE_FILE

    def stage_marker(self, stage: str) -> str:
        return f"{self.zone('trusted')}/{STAGES}/{stage}.json"

    def purge_marker(self) -> str:
        return f"{self.zone('trusted')}/{PURGE_MARKER}"

    def release_work(self, rid: str) -> str:
        return f"{self.zone('trusted')}/{RELEASE_WORK}/{rid}"

    def refused(self, rid: str) -> str:
        """Where a refused release's SCRA report goes."""
        return f"{self.zone('trusted')}/{SCRA_REFUSED}/{rid}"

    def delivery_record_file(self, rid: str) -> Path:
        return self.local("trusted") / DELIVERIES / f"{rid}.json"

    def tombstone_file(self, rid: str) -> Path:
        return self.local("trusted") / TOMBSTONES / f"{rid}.json"

    def audit_dir_file(self) -> Path:
        return self.local("trusted") / AUDIT_DIR

    # release/ and outbox/
    def release(self, rid: str) -> str:
        return f"{self.zone('release')}/{rid}"

    def release_manifest(self, rid: str) -> str:
        return f"{self.zone('release')}/{rid}/{RELEASE_MANIFEST}"

    def request(self) -> str:
        """The extraction request for KSZ and VDAB (every population member's INSZ)."""
        return f"{self.zone('outbox')}/{REQUESTS}/{self.config.cohorts.request_id}"

    def package(self, rid: str) -> str:
        return f"{self.zone('outbox')}/{rid}"

    def selfcheck(self) -> str:
        return self.zone(SELFCHECK)

    def demo_dir_file(self) -> Path:
        return self.local(DEMO_DIR)
