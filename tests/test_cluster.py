"""The same pipeline on a loopback standalone cluster: the same results as local mode, and a
worker killed with SIGKILL in the middle of the metrics stage does not change them. Each test
starts and stops its own cluster; nothing is left running."""

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, profile_in, run_pipeline
from pyspark.sql import functions as F

from loganalysis import stages
from loganalysis.ops import cluster
from loganalysis.detect.anomalies import DetectorConfig
from loganalysis.core.paths import DataPaths

pytestmark = [pytest.mark.cluster, pytest.mark.pipeline]
COMPARED = ["clean_logs", "metrics/summary", "metrics/timeseries", "metrics/top_error_messages",
            "anomalies/scored_series", "anomalies/incidents"]


@pytest.fixture
def loopback_cluster(tmp_path):
    state_dir = tmp_path / "cluster"
    state = cluster.start(state_dir, workers=2, cores=1, memory="1g")
    pids = [state["pids"]["master"], *state["pids"]["workers"]]
    yield state
    cluster.stop(state_dir)
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)


def cluster_profile(work: Path, state: dict, **overrides) -> tuple[Path, int]:
    ui_port = cluster.free_port()
    profile = profile_in(work, "ci", spark_master=state["master_url"], spark_conf={
        "spark.executor.memory": "768m", "spark.executor.cores": "1", "spark.cores.max": "2",
        "spark.sql.shuffle.partitions": "4", "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1", "spark.ui.port": str(ui_port)}, **overrides)
    return profile, ui_port


def row_set(spark, path: str):
    df = spark.read.parquet(path)
    # sums of doubles depend on the order tasks' partial sums are merged: compare rounded
    rounded = [F.round(c, 6).alias(c) if t == "double" else F.col(c) for c, t in df.dtypes]
    df = df.select(*rounded)
    return tuple(df.select(F.count(F.lit(1)), F.sum(F.xxhash64(*df.columns).cast("decimal(38,0)"))).first())


def test_cluster_run_gives_the_same_results_as_local(spark, first_run, loopback_cluster, tmp_path):
    local_work, _, _ = first_run
    profile, _ = cluster_profile(tmp_path, loopback_cluster)
    result = run_pipeline(profile, tmp_path / "reports", "cluster")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "reports/cluster/manifest.json").read_text())
    assert manifest["parameters"]["spark_master"].startswith("spark://127.0.0.1:")
    for output in COMPARED:
        assert row_set(spark, str(tmp_path / "data" / output)) == row_set(spark, str(local_work / "data" / output)), output


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _busy_executor(ui_port: int, app_name: str):
    """(app id, executor id) of an executor running tasks of `app_name`'s jobs right now, if any."""
    try:
        return _find_busy_executor(ui_port, app_name)
    except (OSError, ValueError):  # UI not up yet ("Spark is starting up"), or between apps
        return None


def _find_busy_executor(ui_port: int, app_name: str):
    apps = _get(f"http://127.0.0.1:{ui_port}/api/v1/applications")
    for app in apps:
        if app["name"] != app_name:
            continue
        jobs = _get(f"http://127.0.0.1:{ui_port}/api/v1/applications/{app['id']}/jobs?status=running")
        for executor in _get(f"http://127.0.0.1:{ui_port}/api/v1/applications/{app['id']}/executors"):
            if executor["id"] != "driver" and executor["activeTasks"] > 0 and jobs:
                return app["id"], executor["id"]
    return None


def _worker_running(state: dict, executor_id: str) -> int:
    """PID of the worker whose child process is that executor."""
    for pid in state["pids"]["workers"]:
        for child in psutil.Process(pid).children(recursive=True):
            try:
                command = " ".join(child.cmdline()) + " "
            except (psutil.ZombieProcess, psutil.NoSuchProcess, psutil.AccessDenied):
                continue  # executors of a finished stage exit and linger as zombies
            if f"--executor-id {executor_id} " in command:
                return pid
    raise LookupError(f"no worker runs executor {executor_id}")


def test_a_worker_killed_mid_metrics_stage_does_not_change_the_results(spark, loopback_cluster, tmp_path):
    profile, ui_port = cluster_profile(tmp_path, loopback_cluster, n_records=250_000, duration_hours=8)
    run = subprocess.Popen([sys.executable, "-m", "loganalysis", "run", "--params", str(profile),
                            "--reports", str(tmp_path / "reports"), "--run-id", "fault"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    evidence = None
    deadline = time.monotonic() + 600
    reports = tmp_path / "reports" / "fault"
    while evidence is None and run.poll() is None and time.monotonic() < deadline:
        # The run's stages share one application (named after the run); stage 02 runs between
        # the page of stage 01 and its own.
        in_metrics = (reports / "01_generate_logs.html").exists() and not (reports / "02_compute_metrics.html").exists()
        busy = _busy_executor(ui_port, "loganalysis-fault") if in_metrics else None
        if busy:
            app_id, executor_id = busy
            worker = _worker_running(loopback_cluster, executor_id)
            cluster.kill(worker, signal.SIGKILL)
            evidence = {"app": app_id, "executor": executor_id, "worker": worker}
        time.sleep(0.2)
    output, _ = run.communicate(timeout=900)
    assert evidence, "never saw the metrics stage running tasks on an executor:\n" + output
    assert run.returncode == 0, output
    # the kill landed: the worker process is gone (the master notices only after its heartbeat timeout)
    assert not psutil.pid_exists(evidence["worker"]) or psutil.Process(evidence["worker"]).status() == psutil.STATUS_ZOMBIE

    manifest = json.loads((tmp_path / "reports/fault/manifest.json").read_text())
    assert [s["status"] for s in manifest["stages"]] == ["ok"] * 4
    counts = manifest["stages"][1]["counts"]
    assert counts["lines_in"] == counts["clean"] + counts["quarantined"] == 250_000

    # the same stages, locally, on the same raw logs
    local = DataPaths(str(tmp_path / "local"))
    shutil.copytree(tmp_path / "data/raw_logs", tmp_path / "local/raw_logs")
    stages.compute_metrics(spark, local, 60, 5)
    stages.detect_anomalies(spark, local, DetectorConfig(min_history=20))
    for output in COMPARED:
        assert row_set(spark, str(tmp_path / "data" / output)) == row_set(spark, f"{local.root}/{output}"), output
