"""Constants the test modules and conftest share."""

# The passphrase of the suite's keystore (not the demo one).
PASSPHRASE = "a test passphrase, not the demo one"
