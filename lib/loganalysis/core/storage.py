"""Whole-or-nothing outputs.

A stage writes every output into a staging folder. When the last one is complete it writes a
commit journal (`_COMMIT`, the list of moves) into that folder in one atomic rename, and only
then swaps the outputs into place one by one. The journal is the commit point:
- killed before it, the stage committed nothing: every output is the previous generation, and
  the next stage removes the dead run's staging folder;
- killed after it, the stage committed everything: whoever comes next (the next stage, or any
  reader of an output in that data root) finishes the moves the journal lists before it reads
  (roll forward; every move can be repeated), so nobody sees a mix of old and new outputs.
Readers refuse an output without Spark's `_SUCCESS` marker, so a half-written folder is never
mistaken for a result. Paths go through Hadoop's FileSystem API, so the same code serves local
folders, `file://`, `hdfs://` and `s3a://` URIs.
"""

from __future__ import annotations

import json
import os
import re
import signal
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
# Test hook: "<n>" kills the committing process (SIGKILL: no cleanup runs) after it has swapped
# n outputs into place, to prove a kill during a commit leaves one generation, not a mix.
KILL_IN_COMMIT_ENV = "LOGANALYSIS_KILL_IN_COMMIT"

COMMIT_JOURNAL = "_COMMIT"
STAGING_FOLDER = "_staging"  # under a data root; the journals of its stages live there

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
    finish_interrupted_commits_above(spark, path)
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
        self._write_text_to(df, self._stage_path(final_path), final_path, partition_by)

    def write_text_scratch(self, df: DataFrame, name: str, partition_by: list[str]) -> str:
        """`write_parquet_scratch` for text lines (a single string column `value`)."""
        path = f"{self.staging_root}/scratch-{name}"
        self._write_text_to(df, path, name, partition_by)
        return path

    def _write_text_to(self, df: DataFrame, path: str, name: str, partition_by: list[str]) -> None:
        (self._with_fault_hook(df, name).write.mode("error").partitionBy(*partition_by)
         .option("compression", "none").text(path))

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
        """Write the journal of moves (the commit point), then carry the moves out."""
        for staged in self._staged.values():
            require_complete(self.spark, staged)
        moves = [{"staged": staged, "final": final} for final, staged in self._staged.items()]
        _write_atomically(self.spark, f"{self.staging_root}/{COMMIT_JOURNAL}",
                          "".join(json.dumps(entry) + "\n" for entry in
                                  moves + [{"retire": final} for final in self._retired]))
        kill_after = os.environ.get(KILL_IN_COMMIT_ENV)
        name = self.staging_root.rsplit("/", 1)[-1]
        _COMMITS_UNDER_WAY.add(name)
        try:
            _roll_forward(self.spark, self.staging_root, int(kill_after) if kill_after else None)
        finally:
            _COMMITS_UNDER_WAY.discard(name)


def _write_atomically(spark: SparkSession, path: str, text: str) -> None:
    """A small file written under another name and renamed into place: all of it or none."""
    fs, target = _jvm_path(spark, path)
    _, writing = _jvm_path(spark, f"{path}.writing")
    stream = fs.create(writing, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
        stream.hsync()
    finally:
        stream.close()
    if not fs.rename(writing, target):
        raise OSError(f"could not write {path}")


def _read_text(spark: SparkSession, path: str) -> str:
    fs, hadoop_path = _jvm_path(spark, path)
    stream = fs.open(hadoop_path)
    try:
        return bytes(spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)).decode("utf-8")
    finally:
        stream.close()


def _move_into_place(spark: SparkSession, staged: str, final: str) -> None:
    """Staged output in, previous one out. Safe to repeat after an interruption at any step:
    a staged folder that is gone has been moved in already."""
    replaced = f"{staged}-replaced"
    if path_exists(spark, staged):
        if path_exists(spark, final):
            _rename(spark, final, replaced)
        _rename(spark, staged, final)
    delete(spark, replaced)


def _roll_forward(spark: SparkSession, staging_root: str, kill_after: int | None = None) -> None:
    """Carry out the moves and removals the journal in `staging_root` lists, then drop it."""
    journal = f"{staging_root}/{COMMIT_JOURNAL}"
    entries = [json.loads(line) for line in _read_text(spark, journal).splitlines() if line]
    for done, entry in enumerate(entry for entry in entries if "staged" in entry):
        if done == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        _move_into_place(spark, entry["staged"], entry["final"])
    for entry in entries:
        if "retire" in entry:
            delete(spark, entry["retire"])
    delete(spark, journal)


# A stage's staging folder is named after the process that writes it, `<host>-<pid>-<uuid>`, so
# the folder of a process that was killed (and never ran its cleanup) can be told from the
# folder of one still writing, and removed by the next stage that stages outputs there.
_STAGING_NAME = re.compile(r"(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{32}")
# Folders named by a bare uuid were staged before names carried their process; one untouched
# this long belongs to no running stage.
_UNOWNED_STAGING_AGE_SECONDS = 24 * 3600
# A commit is a few renames (copies, on object stores): a journal this old on another host, whose
# process cannot be asked, belongs to a run that died. A live commit is waited for this long.
_FOREIGN_COMMIT_SECONDS = 3600
_COMMIT_WAIT_SECONDS = 300
_COMMITS_UNDER_WAY: set[str] = set()  # staging folders this process is committing right now


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _owner_gone(status, host: str, now_ms: float) -> bool:
    """Whether the stage run that owns a staging folder has ended without cleaning up."""
    name = status.getPath().getName()
    owner = _STAGING_NAME.fullmatch(name)
    if owner:
        if owner["host"] == host:
            return not _process_alive(int(owner["pid"]))
        return False  # another host's process: it cannot be asked
    return (re.fullmatch(r"[0-9a-f]{32}", name) is not None
            and now_ms - status.getModificationTime() > _UNOWNED_STAGING_AGE_SECONDS * 1000)


def _commit_stopped(status, journal, host: str) -> bool:
    """Whether a journal's commit is no longer being carried out: its process is gone, or it is
    this process and not committing now (its roll forward raised), or it is too old to be live."""
    if status.getPath().getName() in _COMMITS_UNDER_WAY:
        return False
    owner = _STAGING_NAME.fullmatch(status.getPath().getName())
    if owner and owner["host"] == host and int(owner["pid"]) == os.getpid():
        return True
    now_ms = time.time() * 1000
    return _owner_gone(status, host, now_ms) or now_ms - journal.getModificationTime() > _FOREIGN_COMMIT_SECONDS * 1000


def _journal_status(spark: SparkSession, folder: str):
    fs, journal = _jvm_path(spark, f"{folder}/{COMMIT_JOURNAL}")
    return fs.getFileStatus(journal) if fs.exists(journal) else None


def finish_interrupted_commits(spark: SparkSession, staging_parent: str) -> list[str]:
    """Finish the commits that stage runs of this data root began and did not end (killed after
    their journal was written), so readers see their new outputs, all of them. A commit still
    under way in another live process is waited for. Returns the staging folders finished."""
    fs, parent = _jvm_path(spark, staging_parent)
    if not fs.exists(parent):
        return []
    host, finished, waited = socket.gethostname(), [], 0.0
    for status in fs.listStatus(parent):
        folder = f"{staging_parent.rstrip('/')}/{status.getPath().getName()}"
        while (journal := _journal_status(spark, folder)) is not None:
            if _commit_stopped(status, journal, host):
                _roll_forward(spark, folder)
                delete(spark, folder)
                finished.append(status.getPath().getName())
                print(f"finished the commit of {folder}: its run ended during the commit (killed?); "
                      "every output it lists is now the new one", file=sys.stderr)
                break
            if waited > _COMMIT_WAIT_SECONDS:
                raise IncompleteOutputError(f"{folder} is being committed by a running stage: try again when it ends")
            time.sleep(0.2)
            waited += 0.2
    return finished


def finish_interrupted_commits_above(spark: SparkSession, path: str) -> None:
    """Before an output is read: finish any interrupted commit in the data root it belongs to
    (the nearest folder above it that holds a staging folder)."""
    fs, folder = _jvm_path(spark, path)
    folder = folder.getParent()
    while folder is not None:
        staging = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(folder, STAGING_FOLDER)
        if fs.exists(staging):
            finish_interrupted_commits(spark, staging.toString())
            return
        folder = folder.getParent()


def remove_abandoned_staging(spark: SparkSession, staging_parent: str) -> list[str]:
    """Delete the staging folders under `staging_parent` left by stage runs that died before
    their commit point: their process (on this host) is gone. A folder with a commit journal
    is finished first. Folders of live processes, and of other hosts, are kept.
    Returns the names removed."""
    finish_interrupted_commits(spark, staging_parent)
    fs, parent = _jvm_path(spark, staging_parent)
    if not fs.exists(parent):
        return []
    host, now_ms, removed = socket.gethostname(), time.time() * 1000, []
    for status in fs.listStatus(parent):
        if _owner_gone(status, host, now_ms):
            fs.delete(status.getPath(), True)
            removed.append(status.getPath().getName())
            print(f"removed {staging_parent.rstrip('/')}/{status.getPath().getName()}: staged by a run that "
                  "ended before its commit (killed?); its outputs were never visible", file=sys.stderr)
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
        if _journal_status(spark, staging_root) is None:
            delete(spark, staging_root)
        else:  # past the commit point: the next reader or stage finishes the moves
            print(f"{staging_root}: the commit stopped part way; the next read of this data root "
                  "finishes it", file=sys.stderr)
