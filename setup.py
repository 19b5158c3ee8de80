"""Installs the `pseudolink` library from lib/.

Version ranges are the ones the test suite has run against; the exact pins used by
the README's commands live in versions.env (scripts/bootstrap.sh installs them).
"""

from pathlib import Path

from setuptools import find_packages, setup


def _versions() -> dict[str, str]:
    pairs = {}
    for line in (Path(__file__).parent / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


V = _versions()
NOTEBOOKS = ["ipykernel>=6.29,<8", "nbclient>=0.10,<0.12", "nbformat>=5.9,<6"]

setup(
    name="pseudolink",
    version="0.1.0",
    description="Trusted-third-party linkage and pseudonymisation pipeline on Spark and Delta Lake",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    package_data={"pseudolink": ["py.typed"]},
    python_requires=">=3.10",
    install_requires=[
        f"pyspark>={V['PYSPARK_VERSION']},<=4.2.0",
        f"delta-spark>={V['DELTA_VERSION']},<4.5",
        "cryptography>=46,<51",
        # Arrow-based pandas UDFs (the pseudonymisation UDF variant).
        "pandas>=2.2,<3",
        "pyarrow>=18,<27",
        "pyyaml>=6.0,<7",
        # plots of the SCRA report
        "matplotlib>=3.8,<4",
        # delivery of packages over SFTP
        "paramiko>=5.1,<6",
    ],
    extras_require={
        # Running the notebooks of notebooks/ (nbclient executes them in an ipykernel).
        "notebooks": NOTEBOOKS,
        "test": [
            "pytest>=8,<10",
            "chispa>=0.10,<0.13",
            "ruff>=0.15,<0.18",
            "hypothesis>=6.100,<7",
            "python-stdnum>=1.20,<3",
            *NOTEBOOKS,
        ],
    },
)
