"""Encrypted delivery of a release to its researchers: packages, keys, SFTP upload, and
the researcher-side decryption (docs/deliver.md). Only ``pseudolink.deliver.sftp`` needs
paramiko; nothing here needs Spark."""
