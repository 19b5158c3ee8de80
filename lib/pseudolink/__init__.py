"""pseudolink: link social-security sources on the INSZ, pseudonymise, check, release.

The library holds pure ``DataFrame -> DataFrame`` transformations grouped by stage, one
SparkSession factory (:mod:`pseudolink.session`) and one config loader
(:mod:`pseudolink.config`). Jobs in ``jobs/`` are thin entries around them.
"""

__version__ = "0.1.0"
