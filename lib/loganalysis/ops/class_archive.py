"""Builds the class-data-sharing archive that `core.session.get_spark` hands the driver JVM.

A Spark driver loads and verifies some ten thousand classes from jars before its first job
finishes, on every start: the notebook of each run, every test session, every benchmark
process. Java's class-data sharing maps them from one archive file instead. The archive holds
what a JVM loaded while it ran, so it is made by running the pipeline itself: the first three
stages on a few thousand synthetic records, in a JVM started with `-XX:ArchiveClassesAtExit`,
which writes the archive as it exits. Setup runs this once per environment (a few tens of
seconds); a JVM that finds no archive, or one that does not fit it, starts as before.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from loganalysis.core.session import class_archive_path, get_spark, quiet_log4j_config

JVM_EXIT_TIMEOUT_SECONDS = 300


def build(n_records: int = 5_000) -> Path | None:
    """Write the archive for this environment unless it exists; its path, or None when the JVM
    wrote none (a JDK without dynamic archives)."""
    target = class_archive_path()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written under a name of this process's own, then renamed: two setups at once never
    # leave a half-written archive where a JVM would map it.
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    options = f"-Dlog4j2.configurationFile=file:{quiet_log4j_config()} -XX:ArchiveClassesAtExit={partial}"
    spark = get_spark("local[*]", "class-archive", {"spark.driver.extraJavaOptions": options})
    with tempfile.TemporaryDirectory(prefix="loganalysis-class-archive-") as root:
        run_small_pipeline(spark, root, n_records)
    _stop_jvm(spark)
    if not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        return None
    os.replace(partial, target)
    return target


def run_small_pipeline(spark, root: str, n_records: int) -> None:
    """Stages 01-03 on `n_records` synthetic records: the classes a real run loads."""
    from loganalysis import stages
    from loganalysis.core.paths import DataPaths
    from loganalysis.detect.anomalies import DetectorConfig
    from loganalysis.sources.generate import GeneratorSettings

    paths = DataPaths(root)
    stages.generate_logs(spark, paths, GeneratorSettings(n_records=n_records, duration_hours=6))
    stages.compute_metrics(spark, paths, 60, 10)
    stages.detect_anomalies(spark, paths, DetectorConfig())


def _stop_jvm(spark) -> None:
    """Stop Spark and wait for the driver JVM to exit: it writes the archive on its way out.
    PySpark's gateway JVM exits when its standard input closes."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    spark.stop()
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    if process is None:
        return
    process.stdin.close()
    deadline = time.monotonic() + JVM_EXIT_TIMEOUT_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
