"""Run the stage notebooks in order through papermill and publish the run.

`python -m loganalysis run --params params/default.yaml` validates the parameters, executes
each stage into reports/<run-id>/ (all in one kernel, so one Spark application: `ops/kernel.py`),
renders HTML with and without code, and writes index.html and manifest.json. It stops at the
first failing stage (still rendering it) and exits non-zero.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import papermill
import pyspark

import loganalysis
from loganalysis.core import session
from loganalysis.ops import kernel
from loganalysis.ops import params as parameters
from loganalysis.ops import run_lock
from loganalysis.ops import stage_counts
from loganalysis.report import publish

KERNEL = "python3"
HEADLINE_FILE = "headline.json"
RUNNER_ERROR_FILE = "runner_error.txt"  # the traceback of a failure of the runner itself


def _java_version() -> str:
    try:
        result = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        return (result.stderr or result.stdout).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def versions() -> dict:
    return {"python": platform.python_version(), "spark": pyspark.__version__,
            "java": _java_version(), "loganalysis": loganalysis.__version__,
            "papermill": papermill.__version__}


def new_run_id(params_file: Path) -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{params_file.stem}"


def _say(message: str) -> None:
    print(message, flush=True)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_JAVA_CAUSE = re.compile(r"^\s*Caused by: (.+)$", re.MULTILINE)
_PYTHON_CHAIN = ("The above exception was the direct cause of the following exception:",
                 "During handling of the above exception, another exception occurred:")
MAX_MESSAGE = 400


def root_cause(ename: str, evalue: str, traceback: list[str] | None = None) -> str:
    """The deepest exception of a failure, as one line.

    A Spark failure reaches Python wrapped several times ("An error occurred while calling
    o123.parquet", then `Job aborted`, then `Task failed while writing rows`); what went wrong is
    the last `Caused by:` of the Java chain. A chained Python exception prints its root cause
    first, before "The above exception was the direct cause...". Otherwise it is the exception.
    """
    text = _ANSI.sub("", "\n".join([evalue or "", *(traceback or [])]))
    java_causes = _JAVA_CAUSE.findall(text)
    if java_causes:
        return java_causes[-1].strip()[:MAX_MESSAGE]
    printed = _ANSI.sub("", "\n".join(traceback or []))
    for marker in _PYTHON_CHAIN:
        if marker in printed:
            before = [line.strip() for line in printed.split(marker)[0].splitlines() if line.strip()]
            if before:
                return before[-1][:MAX_MESSAGE]
    first_line = next((line.strip() for line in (evalue or "").splitlines() if line.strip()), "")
    return f"{ename}: {first_line}"[:MAX_MESSAGE]


def _error_summary(error: Exception) -> str:
    """The failing cell's root cause as one readable line (papermill's own message starts blank)."""
    if isinstance(error, papermill.PapermillExecutionError):
        return f"{root_cause(error.ename, error.evalue, error.traceback)} (cell {error.exec_count})"
    cause = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__
    return root_cause(type(cause).__name__, str(cause))


def _run_stage(stage: str, stage_params: dict, run_dir: Path, shared_kernel) -> dict:
    """Execute one stage notebook in the run's kernel; return its record for the manifest."""
    executed = run_dir / f"{stage}.ipynb"
    started = time.monotonic()
    record = {"name": stage, "notebook": executed.name, "parameters": stage_params}
    try:
        kernel.empty_namespace(shared_kernel)
        papermill.execute_notebook(
            str(parameters.NOTEBOOKS_DIR / f"{stage}.ipynb"), str(executed),
            parameters={**stage_params, "run_dir": str(run_dir)},
            kernel_name=KERNEL, cwd=str(parameters.NOTEBOOKS_DIR), progress_bar=False, km=shared_kernel,
        )
        record["status"] = "ok"
    except Exception as error:  # papermill raises for a failed cell; the notebook is kept
        record["status"] = "failed"
        record["error"] = _error_summary(error)
    record["seconds"] = round(time.monotonic() - started, 2)
    if executed.exists():
        record["html"] = publish.render_html(executed, run_dir / f"{stage}.html", with_code=False).name
        record["html_with_code"] = publish.render_html(
            executed, run_dir / f"{stage}.code.html", with_code=True).name
    record["counts"] = stage_counts.read(run_dir, stage)
    return record


def _write_run_pages(run: dict, run_dir: Path) -> None:
    headline_path = run_dir / HEADLINE_FILE
    if headline_path.exists():
        run["headline"] = json.loads(headline_path.read_text())
    (run_dir / "manifest.json").write_text(json.dumps(run, indent=2, default=str))
    (run_dir / "index.html").write_text(publish.index_page(run), encoding="utf-8")


def _check_run_id(reports_root: Path, run_id: str) -> None:
    """A run id that is not a plain name, or that names an earlier run's folder, is refused
    (its reports would be overwritten)."""
    if not run_id or run_id in (".", "..") or "/" in run_id or "\\" in run_id:
        raise parameters.ParameterError(f"--run-id {run_id!r} must be a plain folder name")
    run_dir = (reports_root / run_id).resolve()
    if run_dir.exists():
        raise parameters.ParameterError(
            f"run {run_id!r} already has a report folder ({run_dir}): choose another --run-id")


def _new_run_dir(reports_root: Path, run_id: str) -> Path:
    _check_run_id(reports_root, run_id)
    run_dir = (reports_root / run_id).resolve()
    run_dir.mkdir(parents=True)
    return run_dir


def _data_root(per_stage: dict) -> str:
    """The run's data root as the stages will see it (absolute, or a URI)."""
    for stage_params in per_stage.values():
        if "data_root" in stage_params:
            return parameters.with_absolute_paths(stage_params, Path.cwd())["data_root"]
    default = parameters.declared(next(iter(per_stage)))["data_root"]["default"]
    return str((parameters.NOTEBOOKS_DIR / ast.literal_eval(default)).resolve())  # notebooks run from their folder


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(params_file: str | Path, reports_root: str | Path = "reports", run_id: str | None = None) -> int:
    """Run every stage of a params profile; return the process exit code."""
    params_file = Path(params_file)
    try:
        loaded = parameters.load(params_file)
        per_stage = parameters.check(loaded)
    except parameters.ParameterError as error:
        print(f"error: {params_file}: {error}", file=sys.stderr)
        return 2
    run_id = run_id or new_run_id(params_file)
    lock = None
    try:
        _check_run_id(Path(reports_root), run_id)
        data_root = run_lock.local_data_root(_data_root(per_stage))
        lock = run_lock.acquire(data_root, run_id, warn=_warn) if data_root else None
        run_dir = _new_run_dir(Path(reports_root), run_id)
    except (parameters.ParameterError, run_lock.DataRootBusy, OSError) as error:
        if lock:
            lock.release()
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return _run_stages(params_file, loaded, per_stage, run_id, run_dir)
    except Exception as error:  # the runner's own failure (a stage's is reported by _run_stages)
        details = run_dir / RUNNER_ERROR_FILE
        details.write_text("".join(traceback.format_exception(error)), encoding="utf-8")
        print(f"error: the runner failed: {_error_summary(error)}\n  details: {details}", file=sys.stderr)
        return 1
    finally:
        if lock:
            lock.release()


def _run_stages(params_file: Path, loaded: dict, per_stage: dict, run_id: str, run_dir: Path) -> int:
    os.environ["LOGANALYSIS_SPARK_LOG"] = str(run_dir / "spark.log")
    os.environ[session.APP_NAME_ENV] = f"loganalysis-{run_id}"  # one application for every stage
    run = {"run_id": run_id, "params_file": str(params_file), "parameters": loaded,
           "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "status": "running", "versions": versions(), "stages": []}
    _say(f"run {run_id}: {len(per_stage)} stages -> {run_dir}")

    run_started = time.monotonic()
    with kernel.shared_kernel(KERNEL, parameters.NOTEBOOKS_DIR) as shared:
        for stage, stage_params in per_stage.items():
            if run["status"] == "failed":
                run["stages"].append({"name": stage, "status": "skipped"})
                continue
            _say(f"[{time.monotonic() - run_started:7.1f}s] {stage} ...")
            record = _run_stage(stage, parameters.with_absolute_paths(stage_params, Path.cwd()), run_dir, shared)
            run["stages"].append(record)
            _say(f"[{time.monotonic() - run_started:7.1f}s] {stage} {record['status']} in {record['seconds']:.1f}s")
            if record["status"] == "failed":
                run["status"] = "failed"
                run["error"] = f"{stage} failed: {record['error']}"
                run["details"] = str(run_dir / record.get("html", record["notebook"]))
    if run["status"] == "running":
        run["status"] = "ok"
    run["seconds"] = round(time.monotonic() - run_started, 2)
    _write_run_pages(run, run_dir)
    _say(f"run {run['status']} in {run['seconds']:.1f}s: {run_dir / 'index.html'}")
    if run["status"] == "failed":
        print(f"error: {run['error'].splitlines()[0]}\n"
              f"  details: {run['details']} (the failing cell and its full traceback); "
              f"Spark's own log: {run_dir / 'spark.log'}", file=sys.stderr)
        return 1
    return 0
