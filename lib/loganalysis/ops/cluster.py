"""A loopback Spark standalone cluster from the pip-installed pyspark: a master and N workers
started with `spark-class`, bound to 127.0.0.1, their logs and PIDs in one state folder, and
stopped by those PIDs. For tests and demos of the same pipeline on a real cluster manager.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pyspark

HOST = "127.0.0.1"
SPARK_HOME = Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _spawn(args: list[str], log: Path, env: dict) -> int:
    """Start a Spark daemon in its own process group (so its executors go down with it)."""
    with open(log, "ab") as out:
        process = subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                   start_new_session=True)
    return process.pid


def master_status(webui_url: str) -> dict:
    with urllib.request.urlopen(f"{webui_url}/json/", timeout=5) as response:
        return json.load(response)


def _wait_for_workers(webui_url: str, workers: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if master_status(webui_url).get("aliveworkers", 0) >= workers:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the master at {webui_url} did not see {workers} workers within {timeout:.0f}s")


def start(state_dir: str | Path, workers: int = 2, cores: int = 1, memory: str = "1g",
          master_port: int | None = None, webui_port: int | None = None, timeout: float = 90) -> dict:
    """Start the cluster and return its state (master URL, web UI, PIDs), also saved as
    `<state_dir>/cluster.json`. Fails if one is already running from that folder."""
    state_dir = Path(state_dir).resolve()
    state_file = state_dir / "cluster.json"
    if state_file.exists():
        raise RuntimeError(f"a cluster is already running from {state_dir}: stop it first")
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    master_port, webui_port = master_port or free_port(), webui_port or free_port()
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": HOST, "SPARK_LOG_DIR": str(logs)}
    state = {"master_url": f"spark://{HOST}:{master_port}", "webui_url": f"http://{HOST}:{webui_port}",
             "pids": {}, "state_dir": str(state_dir)}
    state["pids"]["master"] = _spawn(["org.apache.spark.deploy.master.Master", "--host", HOST,
                                      "--port", str(master_port), "--webui-port", str(webui_port)],
                                     logs / "master.log", env)
    state["pids"]["workers"] = []
    state_file.write_text(json.dumps(state, indent=2))  # saved early: stop() can clean up a failed start
    for i in range(workers):
        work_dir = state_dir / f"worker-{i}"
        work_dir.mkdir(exist_ok=True)
        state["pids"]["workers"].append(_spawn(
            ["org.apache.spark.deploy.worker.Worker", "--host", HOST, "--cores", str(cores), "--memory", memory,
             "--webui-port", str(free_port()), "--work-dir", str(work_dir), state["master_url"]],
            logs / f"worker-{i}.log", env))
        state_file.write_text(json.dumps(state, indent=2))
    try:
        _wait_for_workers(state["webui_url"], workers, timeout)
    except TimeoutError:
        stop(state_dir)
        raise
    return state


def read_state(state_dir: str | Path) -> dict:
    return json.loads((Path(state_dir) / "cluster.json").read_text())


def kill(pid: int, sig: int = signal.SIGTERM) -> None:
    """Signal a daemon's whole process group: the daemon and the executors it launched."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
        return True
    except ProcessLookupError:
        return False


def stop(state_dir: str | Path, timeout: float = 20) -> None:
    """Stop every daemon by its PID (TERM, then KILL what is left) and forget the cluster."""
    state_file = Path(state_dir) / "cluster.json"
    if not state_file.exists():
        return
    state = json.loads(state_file.read_text())
    pids = [*state["pids"].get("workers", []), state["pids"]["master"]]
    for pid in pids:
        kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.3)
    for pid in pids:
        kill(pid, signal.SIGKILL)
    state_file.unlink()
