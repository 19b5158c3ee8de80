"""File-system and Delta helpers every stage shares.

The data root is a URI (``file://``, ``hdfs://``, ``s3a://``): listing a delivery,
reading a manifest, hashing files and writing small JSON files go through the JVM's
Hadoop client (:class:`HadoopFs`) so the same code serves every scheme. Hashing streams
the file inside the JVM (commons-codec's ``DigestUtils``, shipped with Spark): no bytes
cross into Python. The Delta helpers: whether a table is there, reading one with a clear
error when it is not, writing one (partitioned, replacing) and the UTC timestamps the
markers and manifests carry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from pseudolink.errors import InputError


@dataclass(frozen=True)
class Entry:
    """One child of a folder."""

    name: str
    is_dir: bool
    size: int
    modified: int = 0  # milliseconds since the epoch


class HadoopFs:
    """Hadoop FileSystem calls on URIs, from the driver."""

    def __init__(self, spark: SparkSession) -> None:
        self._jvm: Any = spark.sparkContext._jvm
        self._conf: Any = spark.sparkContext._jsc.hadoopConfiguration()

    def _path(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    def exists(self, uri: str) -> bool:
        fs, path = self._path(uri)
        return bool(fs.exists(path))

    def is_dir(self, uri: str) -> bool:
        fs, path = self._path(uri)
        return bool(fs.exists(path) and fs.getFileStatus(path).isDirectory())

    def list(self, uri: str) -> list[Entry]:
        """The children of a folder, sorted by name."""
        fs, path = self._path(uri)
        return sorted(
            (
                Entry(
                    s.getPath().getName(),
                    bool(s.isDirectory()),
                    int(s.getLen()),
                    int(s.getModificationTime()),
                )
                for s in fs.listStatus(path)
            ),
            key=lambda e: e.name,
        )

    def read_bytes(self, uri: str, limit: int = 16 << 20) -> bytes:
        """A small file's bytes (a manifest); more than ``limit`` bytes is refused."""
        fs, path = self._path(uri)
        size = int(fs.getFileStatus(path).getLen())
        if size > limit:
            raise ValueError(f"{uri}: {size} bytes, more than the {limit} expected")
        stream = fs.open(path)
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
        finally:
            stream.close()

    def first_line(self, uri: str, limit: int = 1 << 16) -> str | None:
        """The first line of a file (decompressed as its extension says, e.g. ``.gz``),
        without its ``\\n``, read from at most ``limit`` bytes; None for an empty file.
        Bytes that are not UTF-8 become U+FFFD, as in Spark's text reader."""
        fs, path = self._path(uri)
        factory = self._jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(self._conf)
        codec = factory.getCodec(path)
        raw = fs.open(path)
        stream = codec.createInputStream(raw) if codec is not None else raw
        try:
            bounded = self._jvm.org.apache.commons.io.input.BoundedInputStream(stream, limit)
            head = bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(bounded))
        finally:
            stream.close()
        if not head:
            return None
        return head.split(b"\n", 1)[0].decode("utf-8", errors="replace")

    def sha256(self, uri: str) -> str:
        """The SHA-256 of a file's bytes, as lowercase hex, computed in the JVM."""
        fs, path = self._path(uri)
        stream = fs.open(path)
        try:
            return str(self._jvm.org.apache.commons.codec.digest.DigestUtils.sha256Hex(stream))
        finally:
            stream.close()

    def write_text(self, uri: str, text: str) -> None:
        """Write (or replace) a small UTF-8 text file, through a temporary file and rename."""
        fs, path = self._path(uri)
        tmp = self._jvm.org.apache.hadoop.fs.Path(uri + ".tmp")
        stream = fs.create(tmp, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
        if fs.exists(path):
            fs.delete(path, False)
        if not fs.rename(tmp, path):
            raise OSError(f"could not rename {uri}.tmp to {uri}")
        self._drop_checksum(uri)

    def copy(self, source: str, target: str) -> None:
        """Copy a file (replacing ``target``)."""
        (src_fs, src), (dst_fs, dst) = self._path(source), self._path(target)
        self._jvm.org.apache.hadoop.fs.FileUtil.copy(
            src_fs, src, dst_fs, dst, False, True, self._conf
        )
        self._drop_checksum(target)

    def rename(self, source: str, target: str) -> None:
        """Move a file or folder to a path that does not exist yet."""
        (fs, src), (_, dst) = self._path(source), self._path(target)
        if not fs.rename(src, dst):
            raise OSError(f"could not rename {source} to {target}")

    def delete(self, uri: str) -> None:
        """Delete a file or a folder with everything in it."""
        fs, path = self._path(uri)
        fs.delete(path, True)

    def _drop_checksum(self, uri: str) -> None:
        """Remove the hidden ``.<name>.crc`` the local file system writes beside a file: a
        delivery or request folder holds only what its manifest lists."""
        fs, path = self._path(uri)
        crc = self._jvm.org.apache.hadoop.fs.Path(path.getParent(), f".{path.getName()}.crc")
        if fs.exists(crc):
            fs.delete(crc, False)


def utc_now(timespec: str = "seconds") -> str:
    """The current time in UTC, ISO 8601 (markers, manifests, records)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec=timespec)


def is_delta(spark: SparkSession, path: str) -> bool:
    """Whether ``path`` holds a Delta table (its ``_delta_log`` is there)."""
    return HadoopFs(spark).exists(f"{path}/_delta_log")


def read_delta(spark: SparkSession, path: str, what: str, hint: str = "") -> DataFrame:
    """The Delta table at ``path``; a clear :class:`InputError` naming it when it is not
    there (``what`` says which table, ``hint`` what to run first)."""
    if not is_delta(spark, path):
        raise InputError(f"{path}: no {what} table" + (f" ({hint})" if hint else ""))
    return spark.read.format("delta").load(path)


def write_delta(
    df: DataFrame,
    path: str,
    partition_by: list[str] | tuple[str, ...] = (),
    mode: str = "overwrite",
    overwrite_schema: bool = False,
) -> None:
    """Write ``df`` as the Delta table at ``path`` (replacing it by default)."""
    writer = df.write.format("delta").mode(mode)
    if overwrite_schema:
        writer = writer.option("overwriteSchema", "true")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(path)


def last_commit(spark: SparkSession, path: str) -> tuple[int, int]:
    """(version, rows written) of the Delta table's last commit, from the commit's own
    metrics (``numOutputRows``): the rows of a table just written, without reading it
    again."""
    from delta.tables import DeltaTable

    commit = DeltaTable.forPath(spark, path).history(1).first()
    assert commit is not None, f"{path}: a Delta table without a commit"
    rows = (commit["operationMetrics"] or {}).get("numOutputRows")
    if rows is None:  # a commit that kept no metrics (metrics turned off): count
        rows = spark.read.format("delta").load(path).count()
    return int(commit["version"]), int(rows)
