"""Whole-or-nothing outputs.

A stage writes every output into a staging folder and swaps them all into place only when
the last one is complete. Readers refuse an output without Spark's `_SUCCESS` marker, so a
half-written folder is never mistaken for a result. Paths go through Hadoop's FileSystem API,
so the same code serves local folders, `file://`, `hdfs://` and `s3a://` URIs.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

from pyspark.sql import Column, DataFrame, SparkSession, functions as F, types as T

SUCCESS_MARKER = "_SUCCESS"

# Test hook: "<output name>:<n>" makes every write task of that output (or scratch write) with
# partition id >= n raise, after the tasks before it have written their files. It proves a
# failure mid-write leaves the previous outputs intact.
FAULT_ENV = "LOGANALYSIS_FAIL_WRITE"

# Columns that are unique to nearly every record gain nothing from Parquet's dictionary
# encoding: the writer builds a dictionary, finds it too big, falls back to plain and pays for
# both. Low-cardinality columns (host, status, endpoint) keep their dictionaries.
PLAIN_ENCODED_COLUMNS = ("timestamp", "trace_id", "z_score")


class IncompleteOutputError(RuntimeError):
    """An output folder is missing or has no success marker."""


def _jvm_path(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return fs, hadoop_path


def path_exists(spark: SparkSession, path: str) -> bool:
    fs, hadoop_path = _jvm_path(spark, path)
    return fs.exists(hadoop_path)


def is_complete(spark: SparkSession, path: str) -> bool:
    return path_exists(spark, f"{path.rstrip('/')}/{SUCCESS_MARKER}")


def require_complete(spark: SparkSession, path: str) -> None:
    if not is_complete(spark, path):
        state = "has no _SUCCESS marker" if path_exists(spark, path) else "does not exist"
        raise IncompleteOutputError(
            f"{path} {state}: run the stage that writes it first (an output without its "
            "marker is incomplete and is never read)."
        )


def read_parquet(spark: SparkSession, path: str, schema: T.StructType | None = None) -> DataFrame:
    """Read a stage output, refusing one that is incomplete."""
    require_complete(spark, path)
    reader = spark.read.schema(schema) if schema is not None else spark.read
    return reader.parquet(path)


def delete(spark: SparkSession, path: str) -> None:
    fs, hadoop_path = _jvm_path(spark, path)
    if fs.exists(hadoop_path):
        fs.delete(hadoop_path, True)


def _rename(spark: SparkSession, source: str, target: str) -> None:
    fs, source_path = _jvm_path(spark, source)
    _, target_path = _jvm_path(spark, target)
    fs.mkdirs(target_path.getParent())
    if not fs.rename(source_path, target_path):
        raise OSError(f"could not move {source} to {target}")


def _fault_column(name: str) -> Column | None:
    spec = os.environ.get(FAULT_ENV, "")
    target, _, after = spec.partition(":")
    if target != name:
        return None
    return F.when(
        F.spark_partition_id() >= int(after or 0),
        F.raise_error(F.lit(f"injected write fault in output {name!r}")),
    )


class StageOutputs:
    """The outputs of one stage run, staged and then committed together.

    Use through `stage_outputs(...)`; write with `write_parquet` / `write_text`, each
    output named by its final path.
    """

    def __init__(self, spark: SparkSession, staging_root: str):
        self.spark = spark
        self.staging_root = staging_root.rstrip("/")
        self._staged: dict[str, str] = {}
        self._retired: list[str] = []
        self._lock = threading.Lock()  # outputs may be written from several threads at once

    def _stage_path(self, final_path: str) -> str:
        with self._lock:
            staged = f"{self.staging_root}/{len(self._staged):02d}"
            self._staged[final_path] = staged
        return staged

    def _with_fault_hook(self, df: DataFrame, path_or_name: str) -> DataFrame:
        fault = _fault_column(path_or_name.rstrip("/").rsplit("/", 1)[-1])
        if fault is None:
            return df
        # A filter, not a dropped column: the optimizer prunes unused columns, never a predicate.
        return df.where(fault.isNull())

    def _write_parquet_to(self, df: DataFrame, path: str, name: str, partition_by: list[str] | None) -> None:
        writer = self._with_fault_hook(df, name).write.mode("error")
        for column in set(PLAIN_ENCODED_COLUMNS) & set(df.columns):
            writer = writer.option(f"parquet.enable.dictionary#{column}", "false")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(path)

    def write_parquet(
        self, df: DataFrame, final_path: str, partition_by: list[str] | None = None
    ) -> None:
        self._write_parquet_to(df, self._stage_path(final_path), final_path, partition_by)

    def write_parquet_scratch(self, df: DataFrame, name: str, partition_by: list[str]) -> str:
        """Write an intermediate result that is never committed itself; return its folder.

        It lives under the staging folder and goes with it. Its partitions become outputs
        through `adopt`, so one pass over the input can feed several outputs.
        """
        path = f"{self.staging_root}/scratch-{name}"
        self._write_parquet_to(df, path, name, partition_by)
        return path

    def adopt(self, folder: str, final_path: str) -> None:
        """Stage an already-written folder (a partition of a scratch write) as an output.
        A partition that got no rows has no folder: the output is then empty."""
        staged = self._stage_path(final_path)
        if path_exists(self.spark, folder):
            _rename(self.spark, folder, staged)
        fs, marker = _jvm_path(self.spark, f"{staged}/{SUCCESS_MARKER}")
        fs.create(marker).close()  # creates the folder too, when it had no rows

    def write_text(self, df: DataFrame, final_path: str, partition_by: list[str]) -> None:
        """Write a single string column `value` as text lines, one folder per partition value."""
        (
            self._with_fault_hook(df, final_path)
            .write.mode("error")
            .partitionBy(*partition_by)
            .option("compression", "none")
            .text(self._stage_path(final_path))
        )

    def retire(self, final_path: str) -> None:
        """Remove an output at commit: one this stage owns but has nothing to write to this time
        (ground truth left by an earlier run must not be scored against new data)."""
        self._retired.append(final_path)

    def staged_path(self, final_path: str) -> str:
        """Where an output written earlier in this stage sits until it is committed."""
        return self._staged[final_path]

    def read_parquet(self, final_path: str, schema: T.StructType | None = None) -> DataFrame:
        """An output written earlier in this stage, read from staging before it is committed."""
        return read_parquet(self.spark, self.staged_path(final_path), schema)

    def commit(self) -> None:
        """Swap every staged output into place: the old one aside, the new one in, the old one gone."""
        for final_path, staged in self._staged.items():
            require_complete(self.spark, staged)
        for final_path, staged in self._staged.items():
            retired = f"{staged}-retired"
            if path_exists(self.spark, final_path):
                _rename(self.spark, final_path, retired)
            _rename(self.spark, staged, final_path)
            delete(self.spark, retired)
        for final_path in self._retired:
            delete(self.spark, final_path)


# A stage's staging folder is named after the process that writes it, `<host>-<pid>-<uuid>`, so
# the folder of a process that was killed (and never ran its cleanup) can be told from the
# folder of one still writing, and removed by the next stage that stages outputs there.
_STAGING_NAME = re.compile(r"(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{32}")
# Folders named by a bare uuid were staged before names carried their process; one untouched
# this long belongs to no running stage.
_UNOWNED_STAGING_AGE_SECONDS = 24 * 3600


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_abandoned_staging(spark: SparkSession, staging_parent: str) -> list[str]:
    """Delete the staging folders under `staging_parent` left by stage runs that died: their
    process (on this host) is gone. Folders of live processes, and of other hosts, are kept.
    Returns the names removed."""
    fs, parent = _jvm_path(spark, staging_parent)
    if not fs.exists(parent):
        return []
    host, now_ms, removed = socket.gethostname(), time.time() * 1000, []
    for status in fs.listStatus(parent):
        name = status.getPath().getName()
        owner = _STAGING_NAME.fullmatch(name)
        if owner:
            abandoned = owner["host"] == host and not _process_alive(int(owner["pid"]))
        else:
            abandoned = (re.fullmatch(r"[0-9a-f]{32}", name) is not None
                         and now_ms - status.getModificationTime() > _UNOWNED_STAGING_AGE_SECONDS * 1000)
        if abandoned:
            fs.delete(status.getPath(), True)
            removed.append(name)
            print(f"removed {staging_parent.rstrip('/')}/{name}: staged by a run that ended without "
                  f"cleaning up (killed?)", file=sys.stderr)
    return removed


@contextmanager
def stage_outputs(spark: SparkSession, staging_parent: str) -> Iterator[StageOutputs]:
    """Stage a set of outputs; commit them all if the block succeeds, discard them if it raises.
    Staging folders that dead runs left behind are removed first."""
    remove_abandoned_staging(spark, staging_parent)
    staging_root = f"{staging_parent.rstrip('/')}/{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"
    outputs = StageOutputs(spark, staging_root)
    try:
        yield outputs
        outputs.commit()
    finally:
        delete(spark, staging_root)
