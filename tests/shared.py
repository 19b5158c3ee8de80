"""Constants the test modules and conftest share."""

# The passphrase of the suite's keystore (not the demo one).
PASSPHRASE = "a test passphrase, not the demo one"

# The release id of the suite's demo release (the `released` fixture).
RELEASE_ID = "test-release"
