"""The one place a Spark session is built."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

from pyspark.sql import SparkSession

# Local mode runs the executors inside the driver JVM, so the driver needs room for them.
LOCAL_DRIVER_MEMORY = "4g"


def quiet_log4j_config() -> str:
    """Path of the packaged log4j2 config that keeps Spark's INFO/WARN chatter out of notebooks."""
    return str(resources.files("loganalysis.core").joinpath("log4j2.properties"))


def spark_log_path() -> str:
    """Where the JVM's own output goes: the run folder when the runner sets it."""
    return os.environ.get("LOGANALYSIS_SPARK_LOG") or os.path.join(tempfile.gettempdir(), "loganalysis-spark.log")


@contextmanager
def _process_output_to(path: str) -> Iterator[None]:
    """Point this process's stdout/stderr at `path` while the JVM starts, so the JVM inherits
    the file: its startup banners and warnings then stay out of notebook outputs."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, log):
            os.close(fd)


# The local file system setup compiles (ops/local_fs.py); its jar is named after this source.
LOCAL_FS_SOURCE = Path(__file__).resolve().parents[1] / "ops" / "java" / "loganalysis" / "NioLocalFileSystem.java"


def local_fs_jar_path() -> Path:
    """Where this environment's jar of `loganalysis.NioLocalFileSystem` lives (ops/local_fs.py
    builds it, setup runs that): named after its source and the PySpark version it was compiled
    against."""
    import pyspark

    stamp = hashlib.sha1(LOCAL_FS_SOURCE.read_bytes() + pyspark.__version__.encode()).hexdigest()[:12]
    return Path(sys.prefix) / "share" / "loganalysis" / f"nio-local-fs-{stamp}.jar"


def local_fs_settings(master: str) -> dict[str, str]:
    """A local driver's settings for the java.nio local file system, when its jar is built: the
    permissions of every file and folder Spark writes are then set without starting a `chmod`
    process each (about 10 ms apiece; ops/local_fs.py). On a cluster the executors' own
    configuration decides, so nothing changes there."""
    jar = local_fs_jar_path()
    if not master.startswith("local") or not jar.is_file():
        return {}
    return {"spark.driver.extraClassPath": str(jar), "spark.hadoop.fs.file.impl": "loganalysis.NioLocalFileSystem"}


def class_archive_path() -> Path:
    """Where this environment's class-data-sharing archive of Spark's classes lives (built by
    `python -m loganalysis class-archive`, which setup runs): in the virtual environment, named
    after the Java binary and the PySpark version it was made with, so another JDK or Spark
    looks for an archive of its own instead of one that no longer fits."""
    import pyspark

    java_home = os.environ.get("JAVA_HOME")  # the JVM PySpark starts: JAVA_HOME's, else PATH's
    java = shutil.which("java", path=os.path.join(java_home, "bin") if java_home else None)
    stamp = f"{os.path.realpath(java)}:{os.path.getmtime(java)}" if java else ""
    stamp += f":{pyspark.__version__}"
    # The archive fits one class path: a driver with the file system's jar needs its own.
    jar = local_fs_jar_path()
    stamp += f":{jar.name}" if jar.is_file() else ""
    return Path(sys.prefix) / "share" / "loganalysis" / f"spark-classes-{hashlib.sha1(stamp.encode()).hexdigest()[:12]}.jsa"


def class_archive_option() -> str:
    """The driver JVM's option to map its classes from the archive, when there is one: the JVM
    then skips loading and verifying some ten thousand classes from jars (session start about
    7 -> 4.5 s, its first job 3.5 -> 2 s, measured in docs/performance.md). A JVM that cannot use
    an archive (another build, changed jars) ignores it and loads classes as usual."""
    archive = class_archive_path()
    return f"-XX:SharedArchiveFile={archive}" if archive.is_file() else ""


APP_NAME_ENV = "LOGANALYSIS_APP_NAME"  # set by the runner: the Spark application's name
_SHIPPED: set[str] = set()  # applications this process has sent the package to


def get_spark(
    master: str = "local[*]",
    app_name: str = "loganalysis",
    conf: dict | None = None,
) -> SparkSession:
    """Build (or reuse) the session every stage uses: UTC, no console progress bars, quiet logs.

    `conf` entries override the defaults, so a params profile can size executors for a cluster.
    """
    quiet = f"-Dlog4j2.configurationFile=file:{quiet_log4j_config()}"
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": f"{quiet} {class_archive_option()}".strip(),
        "spark.executor.extraJavaOptions": quiet,
        # Adaptive execution coalesces small shuffles, so a small default suits both
        # the tiny test data and a 10M-record run on a laptop.
        "spark.sql.shuffle.partitions": "16",
        "spark.sql.adaptive.enabled": "true",
        # Keeps a writer open per partition folder instead of sorting every task by folder.
        "spark.sql.maxConcurrentOutputFileWriters": "64",
        # The time series holds each bucket's latencies (for its p95) in one state per group in
        # a hash map; past the default 128 groups a task re-sorts all its rows to aggregate them
        # (tens of thousands of groups at 10M records). The states hold the task's own values, so memory grows with its input, not this limit.
        "spark.sql.objectHashAggregate.sortBased.fallbackThreshold": "100000",
        # Arrow moves small pandas frames (plans, aggregates) across the driver boundary fast.
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    settings.update(local_fs_settings(master))
    if master.startswith("local"):
        settings["spark.driver.memory"] = LOCAL_DRIVER_MEMORY
        # The one JVM does all the work: a batch wants throughput, and G1's concurrent marking
        # takes a core from it on a small machine. The parallel collector pauses briefly instead
        # (default run 73-77 s -> 70-71 s; 10M anomalies 29.8 -> 26.2 s, metrics 53.7 -> 51.2 s;
        # docs/performance.md). The class archive maps the same with either collector.
        settings["spark.driver.extraJavaOptions"] += " -XX:+UseParallelGC"
        # Spark packs small files into a task as if opening each cost reading 4 MB (a remote
        # store's latency); a local file opens in microseconds. 1,500 raw-log files of 0.5 MB
        # made 53 validation tasks at the default, 7 at 64 KB (the validated write 11.2 -> 10.4 s).
        settings["spark.sql.files.openCostInBytes"] = str(64 * 1024)
        # Past 32 folders Spark lists a dataset's partition folders with a Spark job (worth it
        # on a remote store); on a local disk the driver lists 1,500 folders of raw logs in
        # 0.15 s, the job took 1.8-2.9 s on every read of them.
        settings["spark.sql.sources.parallelPartitionDiscovery.threshold"] = "100000"
        # Python workers run the driver's interpreter, so they import the same packages
        # (PySpark reads the worker interpreter from the environment when the context starts).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings.update({key: str(value) for key, value in (conf or {}).items()})

    # A run's stages share one kernel, so one application: the runner names it after the run.
    builder = SparkSession.builder.master(master).appName(os.environ.get(APP_NAME_ENV) or app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    with _process_output_to(spark_log_path()):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if not master.startswith("local") and spark.sparkContext.applicationId not in _SHIPPED:
        # Once per application: the stages of a run share it, and Spark refuses a second file
        # of the same name.
        spark.sparkContext.addPyFile(package_zip())
        _SHIPPED.add(spark.sparkContext.applicationId)
    return spark


def package_zip() -> str:
    """This package zipped, for executors on other machines to import (RDD functions)."""
    package_dir = Path(__file__).resolve().parents[1]
    target = Path(tempfile.mkdtemp(prefix="loganalysis-")) / "loganalysis.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in package_dir.rglob("*.py"):
            archive.write(path, Path("loganalysis") / path.relative_to(package_dir))
    return str(target)
