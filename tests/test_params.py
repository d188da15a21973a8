"""Stage notebooks declare their parameters properly, and bad parameter files never run."""

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from loganalysis.core.durations import duration_seconds
from loganalysis.detect import baselines
from loganalysis.detect.anomalies import DetectorConfig
from loganalysis.ops import params
from loganalysis.report import plots
from loganalysis.sources import ingest
from loganalysis.sources.generate import GeneratorSettings
from loganalysis.sources.ingest import IngestSettings

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PROFILES = sorted((ROOT / "params").glob("*.yaml"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_parameters_cell_and_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    declared = params.declared(path.stem) if path.stem != "exploration" else None
    if declared:
        assert all(spec["type"] != "None" and spec["help"] for spec in declared.values()), declared


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_profile_key_is_declared_by_a_stage(profile):
    loaded = params.load(profile)
    if "input_path" in loaded and not (ROOT / loaded["input_path"]).exists():
        pytest.skip(f"{loaded['input_path']} is not beside the checkout")
    per_stage = params.check(params.with_absolute_paths(loaded, ROOT))
    assert set(per_stage) == set(params.SOURCES[params.load(profile).get("source", "synthetic")])


def test_help_notebook_lists_typed_described_parameters():
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook",
                          str(ROOT / "notebooks/02_compute_metrics.ipynb")], capture_output=True, text=True)
    assert "bucket: str (default \"1 minute\")" in out.stdout and "top_n: int" in out.stdout
    assert "Unable to parse" not in out.stdout + out.stderr


BAD = [
    ({"n_recordz": 5}, "unknown parameter 'n_recordz'"),
    ({"n_records": "many"}, "'n_records' must be int"),
    ({"n_records": -5}, "n_records = -5 must be a positive number"),
    ({"window": "1 minute", "bucket": "5 minutes"}, "is shorter than a bucket"),
    ({"spark_master": "sparkle://x"}, "is not a Spark master URL"),
    ({"method": "magic"}, "is not a known baseline method (mean, robust, seasonal)"),
    ({"bad_line_rate": 2.0}, "must be a fraction"),
    ({"incident_kinds": ["latency_spike", "meteor"]}, "'meteor'] must list known incident kinds (latency_spike, "),
    ({"surge_multiplier": [0.5, 2.0]}, "2.0] must be .low, high. with 1 <= low"),
    ({"ramp_minutes": [0, 30]}, "ramp_minutes = .0, 30. must be .low, high. minutes, low >= 1"),
    ({"latency_seasonality": 1.0}, "latency_seasonality = 1.0 must be a fraction in .0, 1): latency stays positive"),
    ({"run_dir": "/tmp/x"}, "set by the runner"),
    ({"source": "ingest", "input_path": "/no/such/file.log"}, "input_path '/no/such/file.log' does not exist"),
    ({"source": "ingest", "input_format": "windows_evtx"}, "is not a known input format"),
    ({"source": "ingest", "input_format": "syslog", "syslog_end_date": "2026-W48-1"}, "must be empty"),
    ({"source": "ingest", "input_format": "syslog", "syslog_end_date": "30/11/2026"},
     "syslog_end_date = '30/11/2026' must be empty (each file's modification time) or the day the logs end"),
    ({"window": "1 hour", "bucket": "1 minute", "min_history": 90}, "is more than a '1 hour' window holds"),
    ({"threshold": 4.0, "spike_threshold": 3.0}, "spike_threshold 3.0 is below threshold 4.0"),
    # issue #22, case 1: a data root that would write into a filesystem's root, or nowhere
    ({"data_root": ""}, "data_root '' is empty"),
    ({"data_root": "  "}, "data_root '  ' is empty"),
    ({"data_root": "/"}, "data_root '/' is the root of a filesystem"),
    ({"data_root": "/tmp/.."}, "data_root '/tmp/..' is the root of a filesystem"),
    ({"data_root": "file:///"}, "data_root 'file:///' is the root of a filesystem"),
    ({"data_root": "hdfs://namenode:8020/"}, "is the root of a filesystem"),
    ({"data_root": str(ROOT / "README.md")}, "exists and is not a folder"),
    ({"data_root": str(ROOT / "README.md" / "data")}, "does not exist and cannot be created"),
    ({"max_timestamp_age_days": 0}, "max_timestamp_age_days = 0 must be a positive number of days"),
    ({"min_response_time_ms": 10.0, "max_response_time_ms": 10.0}, "min_response_time_ms 10.0 is not below"),
    ({"max_response_time_ms": float("inf")}, "max_response_time_ms = inf must be a finite number"),
    ({"source": "ingest", "input_path": str(ROOT), "labels_path": "/no/labels.json"},
     "labels_path '/no/labels.json' does not exist"),
    ({"reference_events_path": "/no/events.json"}, "reference_events_path '/no/events.json' does not exist"),
]


@pytest.mark.parametrize("overrides,message", BAD, ids=[m for _, m in BAD])
def test_bad_parameters_are_refused_with_a_clear_message(overrides, message):
    base = {"source": "synthetic"}
    with pytest.raises(params.ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        params.check({**base, **overrides})


def test_an_unquoted_date_is_read_as_the_text_the_notebooks_take(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text(f"source: ingest\ninput_path: {ROOT / 'README.md'}\ninput_format: syslog\n"
                       "syslog_end_date: 2005-07-27\n")
    loaded = params.load(profile)
    assert loaded["syslog_end_date"] == "2005-07-27"
    assert params.check(loaded)["01_ingest_logs"]["syslog_end_date"] == "2005-07-27"


def test_allow_lists_come_from_the_registries(monkeypatch):
    """A new input format or baseline method is one registry entry: the check accepts it then."""
    with pytest.raises(params.ParameterError, match="is not a known input format"):
        params.check({"source": "ingest", "input_format": "windows_evtx"})
    monkeypatch.setitem(ingest.FORMATS, "windows_evtx", ingest.FORMATS["apache_common"])
    monkeypatch.setitem(baselines.BASELINE_METHODS, "magic", baselines.mean_baseline)
    params.check({"source": "ingest", "input_path": str(ROOT / "README.md"), "input_format": "windows_evtx",
                  "method": "magic"})


def test_chart_names_come_from_the_chart_registry(monkeypatch):
    """A new report chart is one registry entry: the check refuses a name the table lacks and
    accepts it once the table has it."""
    with pytest.raises(params.ParameterError, match=r"charts = \['sparkline'\] names a chart that is not drawn"):
        params.check({"charts": ["sparkline"]})
    with pytest.raises(params.ParameterError, match="names a chart that is not drawn"):
        params.check({"charts": ["p95_latency", "sparkline"]})
    params.check({"charts": ["p95_latency"]})
    monkeypatch.setitem(plots.REPORT_CHARTS, "sparkline", plots.requests_per_hour_chart)
    params.check({"charts": ["sparkline", "p95_latency"]})


def test_the_report_draws_every_registered_chart_by_default():
    assert ast.literal_eval(params.declared("04_aggregate_insights")["charts"]["default"]) == list(plots.REPORT_CHARTS)


SETTINGS = {  # each stage's settings dataclass, and the parameters that reach it converted
    "01_generate_logs": (GeneratorSettings, {}),
    "01_ingest_logs": (IngestSettings, {}),
    "03_detect_anomalies": (DetectorConfig, {"window": ("window_seconds", duration_seconds),
                                             "merge_gap": ("merge_gap_seconds", duration_seconds)}),
}


@pytest.mark.parametrize("stage", sorted(SETTINGS))
def test_notebook_defaults_are_the_settings_defaults(stage):
    """The dataclasses hold the defaults; each notebook's parameter cell must say the same."""
    cls, converted = SETTINGS[stage]
    defaults = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
                for f in dataclasses.fields(cls)}
    compared = 0
    for name, spec in params.declared(stage).items():
        value = ast.literal_eval(spec["default"])
        if name in converted:
            name, convert = converted[name]
            value = convert(value)
        if name in defaults:
            expected = defaults[name]
            assert (list(value) if isinstance(value, (list, tuple)) else value) == (
                list(expected) if isinstance(expected, (list, tuple)) else expected), (stage, name)
            compared += 1
    assert compared >= 5, (stage, compared)


def test_runner_refuses_bad_params_before_writing_anything(tmp_path):
    profile = tmp_path / "bad.yaml"
    profile.write_text(yaml.safe_dump({"data_root": str(tmp_path / "data"), "n_records": -1, "typo": 1}))
    result = subprocess.run([sys.executable, "-m", "loganalysis", "run", "--params", str(profile),
                             "--reports", str(tmp_path / "reports")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown parameter 'typo'" in result.stderr and "n_records = -1" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_a_data_root_is_accepted_when_it_can_be_created_or_written(tmp_path):
    for root in (tmp_path, tmp_path / "new" / "deeper", f"file://{tmp_path}/x", "hdfs://namenode:8020/logs"):
        params.check({"data_root": str(root)})


def test_an_input_path_that_is_not_a_file_or_folder_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(params.ParameterError, match="is neither a file nor a folder"):
        params.check({"source": "ingest", "input_path": str(fifo)})


def test_an_input_folder_without_a_file_the_reader_would_take_is_refused(tmp_path):
    """Found by the bench: a folder of NAB files one level down, copied flat by mistake, left
    nothing to read, and stage 02 failed on an empty Parquet folder instead."""
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".hidden.csv").write_text("timestamp,value\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "notes.txt").write_text("x\n")
    ingest = {"source": "ingest", "input_path": str(tmp_path), "input_format": "csv_series"}
    with pytest.raises(params.ParameterError, match=r"holds no file matching file_glob '\*.csv'"):
        params.check({**ingest, "file_glob": "*.csv"})
    params.check(ingest)  # no glob: nested/notes.txt is a file the reader takes
    (tmp_path / "nested" / "series.csv").write_text("timestamp,value\n")
    params.check({**ingest, "file_glob": "*.csv"})  # found one level down, as Spark reads recursively
    (tmp_path / "nested" / "notes.txt").unlink()
    (tmp_path / "nested" / "series.csv").unlink()
    (tmp_path / "_temporary").mkdir()  # a folder Spark skips, file and all
    (tmp_path / "_temporary" / "part-0.csv").write_text("timestamp,value\n")
    with pytest.raises(params.ParameterError, match=r"holds no file \("):
        params.check(ingest)
    (tmp_path / "linked").symlink_to(tmp_path / "_temporary")  # a linked folder Spark follows
    params.check({**ingest, "file_glob": "*.csv"})


def _cli(tmp_path, settings=None, text=None, *extra):
    """The runner on a params file written in tmp_path; its result and what it left in tmp_path."""
    profile = tmp_path / "p.yaml"
    profile.write_text(text if text is not None else yaml.safe_dump(settings))
    result = subprocess.run([sys.executable, "-m", "loganalysis", "run", "--params", str(profile),
                             "--reports", str(tmp_path / "reports"), *extra],
                            capture_output=True, text=True, timeout=120)
    return result, sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))


CLI_REFUSALS = [  # issue #22, case 8 (and 1 through the command line): a message and exit 2
    ({"text": "data_root: [unclosed\nn_records: 5\n"}, "p.yaml: not valid YAML at line 2, column 10: expected ',' or ']', but got ':'"),
    ({"text": "- a list\n- not a mapping\n"}, "p.yaml: expected a mapping of parameter names to values"),
    ({"text": "source: ingest\nsyslog_end_date: 2026-13-01\n"}, "p.yaml: not valid YAML: month must be in 1..12"),
    ({"settings": {"bucket": "0 minutes"}}, "bucket = '0 minutes' must be 'auto' or like"),
    ({"settings": {"data_root": ""}}, "data_root '' is empty"),
    ({"settings": {"data_root": "/"}}, "data_root '/' is the root of a filesystem"),
]


@pytest.mark.parametrize("case,message", CLI_REFUSALS, ids=[m for _, m in CLI_REFUSALS])
def test_the_command_line_refuses_with_a_message_and_exit_2(tmp_path, case, message):
    result, left = _cli(tmp_path, case.get("settings"), case.get("text"))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert left == ["p.yaml"]  # nothing written


def test_a_missing_params_file_is_a_message_and_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "loganalysis", "run", "--params", str(tmp_path / "no.yaml"),
                             "--reports", str(tmp_path / "reports")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no.yaml: cannot read it: No such file" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("run_id", ["taken", "../escape", ".."])
def test_a_reused_or_unsafe_run_id_is_refused_before_anything_runs(tmp_path, run_id):
    (tmp_path / "reports" / "taken").mkdir(parents=True)
    settings = {"data_root": str(tmp_path / "data"), "n_records": 100, "spark_master": "local[1]"}
    result, left = _cli(tmp_path, settings, None, "--run-id", run_id)
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("already has a report folder" if run_id == "taken" else "must be a plain folder name") in result.stderr
    assert "Traceback" not in result.stderr
    assert left == ["p.yaml", "reports", "reports/taken"]


JAVA_FAILURE = """An error occurred while calling o412.parquet.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 1 in stage 3.0 failed 1 times
\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2856)
Caused by: org.apache.spark.SparkException: [TASK_WRITE_FAILED] Task failed while writing rows to file:/d.
\tat org.apache.spark.sql.errors.QueryExecutionErrors$.taskFailedWhileWritingRowsError(QueryExecutionErrors.scala:789)
Caused by: java.io.IOException: No space left on device
\tat java.io.FileOutputStream.writeBytes(Native Method)
"""

PYTHON_CHAIN = ["\x1b[31mFileNotFoundError\x1b[39m: [Errno 2] No such file: 'labels.json'", "",
                "The above exception was the direct cause of the following exception:", "",
                "Traceback (most recent call last):", "RuntimeError: could not read the labels"]


@pytest.mark.parametrize("ename,evalue,traceback,expected", [
    ("Py4JJavaError", JAVA_FAILURE, [], "java.io.IOException: No space left on device"),
    ("RuntimeError", "could not read the labels", PYTHON_CHAIN, "FileNotFoundError: [Errno 2] No such file: 'labels.json'"),
    ("ValueError", "\nbad value\nmore", ["ValueError: bad value"], "ValueError: bad value"),
], ids=["java chain", "python chain", "plain"])
def test_a_failure_is_reported_by_its_deepest_cause_on_one_line(ename, evalue, traceback, expected):
    from loganalysis.ops.runner import root_cause
    assert root_cause(ename, evalue, traceback) == expected


def test_a_csv_series_value_is_called_a_value_on_the_pages_unless_the_profile_names_it():
    profile = {"source": "ingest", "input_path": str(ROOT / "README.md"), "input_format": "csv_series"}
    for stage in ("03_detect_anomalies", "04_aggregate_insights"):
        stage_params = params.check(profile)[stage]
        assert (stage_params["value_name"], stage_params["value_unit"]) == ("value", "")
    named = params.check({**profile, "value_name": "CPU", "value_unit": "%"})["04_aggregate_insights"]
    assert (named["value_name"], named["value_unit"]) == ("CPU", "%")
    with pytest.raises(params.ParameterError, match="value_name = ' ' must name the value"):
        params.check({**profile, "value_name": " "})
    logs = params.check({**profile, "input_format": "apache_combined"})["04_aggregate_insights"]
    assert "value_name" not in logs and "value_unit" not in logs  # the notebooks' own: latency in ms


def test_ingested_logs_get_an_automatic_bucket_unless_the_profile_sets_one():
    profile = {"source": "ingest", "input_path": str(ROOT / "README.md"), "input_format": "apache_combined"}
    assert params.check(profile)["02_compute_metrics"]["bucket"] == "auto"
    assert params.check({**profile, "bucket": "5 minutes"})["02_compute_metrics"]["bucket"] == "5 minutes"
    assert "bucket" not in params.check({"source": "synthetic"})["02_compute_metrics"]
    with pytest.raises(params.ParameterError, match="must be 'auto' or like '1 minute'"):
        params.check({"bucket": "sometimes"})


def test_every_profile_example_in_the_log_formats_doc_passes_the_check(tmp_path):
    """docs/log-formats.md is where a user copies a format's settings from: each example must
    load and pass the check as a profile file would."""
    text = (ROOT / "docs" / "log-formats.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 10
    for number, block in enumerate(blocks):
        profile = tmp_path / f"example{number}.yaml"
        profile.write_text(f"source: ingest\n{block}\ninput_path: {ROOT / 'README.md'}\n")  # the last one wins
        params.check(params.load(profile))
