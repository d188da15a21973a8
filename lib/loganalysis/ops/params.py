"""Parameter files: load, check against what the stage notebooks declare, and refuse
anything doubtful before a single Spark job runs.

Papermill only warns about a parameter no notebook declares; here it is an error, as are
wrong types and impossible values, all reported together in one message.
"""

from __future__ import annotations

import ast
import fnmatch
import math
import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Callable

import papermill
import yaml

from loganalysis.detect.baselines import BASELINE_METHODS
from loganalysis.report.plots import REPORT_CHARTS
from loganalysis.sources import container
from loganalysis.sources.ingest import FORMATS
from loganalysis.sources.logformat import TIME_UNITS_MS, log_format_ok
from loganalysis.sources.regex_format import pattern_ok
from loganalysis.sources.traffic_plan import INCIDENT_KINDS
from loganalysis.core.durations import AUTO, duration_seconds

NOTEBOOKS_DIR = Path(__file__).resolve().parents[3] / "notebooks"

SOURCES = {
    "synthetic": ["01_generate_logs", "02_compute_metrics", "03_detect_anomalies", "04_aggregate_insights"],
    "ingest": ["01_ingest_logs", "02_compute_metrics", "03_detect_anomalies", "04_aggregate_insights"],
}
# Keys the runner itself reads; every other key must be a stage parameter.
RUNNER_KEYS = {"source": "synthetic"}
# Set by the runner for each run; a params file may not set them.
RUNNER_SUPPLIED = {"run_dir"}
# Stage parameters that name a place: relative ones are taken from where the run starts.
PATH_KEYS = ("data_root", "input_path", "labels_path", "reference_results_path", "reference_events_path")

_MASTER = re.compile(
    r"local(\[(\*|\d+)(,\s*\d+)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]"
    r"|spark://[\w.\-]+:\d+(,[\w.\-]+:\d+)*|yarn|k8s://\S+|mesos://\S+"
)
_PY_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
             "dict": (dict,), "list": (list, tuple), "None": (type(None),)}


class ParameterError(ValueError):
    """A params file that must not run; the message lists every problem found."""


def load(path: str | Path) -> dict:
    """The params file as a dict; an unreadable file or bad YAML is a ParameterError saying
    where (the caller names the file)."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ParameterError(f"cannot read it: {error.strerror if isinstance(error, OSError) else error}") from error
    try:
        loaded = yaml.safe_load(text) or {}
    except ValueError as error:  # a date-like scalar that is no date (2005-13-01)
        raise ParameterError(f"not valid YAML: {error}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ParameterError(f"not valid YAML{where}: {problem}") from error
    if not isinstance(loaded, dict):
        raise ParameterError("expected a mapping of parameter names to values")
    # YAML reads an unquoted 2005-07-27 as a date; the notebooks take dates as text.
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in loaded.items()}


def declared(stage: str) -> dict[str, dict]:
    """The parameters a stage notebook declares: name -> {type, default, help}."""
    inspected = papermill.inspect_notebook(str(NOTEBOOKS_DIR / f"{stage}.ipynb"))
    return {
        name: {"type": spec["inferred_type_name"], "default": spec["default"], "help": spec["help"]}
        for name, spec in inspected.items()
    }


def _type_ok(value: Any, type_name: str) -> bool:
    names = [part.strip() for part in (type_name or "").split("|")]
    if names == ["None"] or not names or not all(n in _PY_TYPES for n in names):
        return True  # undeclared or exotic annotation: nothing to check against
    if isinstance(value, bool) and "bool" not in names:
        return False
    return any(isinstance(value, _PY_TYPES[n]) for n in names)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


# ---- value rules: (key, check, message); a check returns True when the value is fine -------

def _positive(v): return isinstance(v, (int, float)) and v > 0
def _non_negative(v): return isinstance(v, (int, float)) and v >= 0
def _fraction(v): return isinstance(v, (int, float)) and 0 <= v <= 1


def _iso_date(v) -> bool:
    try:
        return isinstance(v, str) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)) and bool(date.fromisoformat(v))
    except ValueError:
        return False


def _bucket_ok(v):
    try:
        duration_seconds(v)
        return True
    except (ValueError, TypeError):
        return False


def _range_ok(v):
    return (isinstance(v, (list, tuple)) and len(v) == 2
            and all(isinstance(x, (int, float)) for x in v) and 0 <= v[0] <= v[1])


VALUE_RULES: list[tuple[str, Callable[[Any], bool], str]] = [
    ("source", lambda v: v in SOURCES, f"must be one of {sorted(SOURCES)}"),
    ("spark_master", lambda v: isinstance(v, str) and bool(_MASTER.fullmatch(v)),
     "is not a Spark master URL (local[*], local[N], spark://host:port, yarn, k8s://...)"),
    ("n_records", _positive, "must be a positive number of records"),
    ("duration_hours", _positive, "must be a positive number of hours"),
    ("hosts_per_service", _positive, "must be at least 1"),
    ("n_partitions", _non_negative, "must be 0 (one task per core, more for a large run) or more"),
    ("incident_count", _non_negative, "must be 0 or more"),
    ("bad_line_rate", lambda v: _fraction(v) and v <= 0.5, "must be a fraction between 0 and 0.5"),
    ("environments", lambda v: isinstance(v, dict) and v and all(_positive(x) for x in v.values()),
     "must map at least one environment to a positive traffic share"),
    ("latency_multiplier", _range_ok, "must be [low, high] with 0 <= low <= high"),
    ("error_burst_rate", lambda v: _range_ok(v) and v[1] <= 1, "must be [low, high] within [0, 1]"),
    ("traffic_remaining", lambda v: _range_ok(v) and v[1] <= 1, "must be [low, high] within [0, 1]"),
    ("incident_minutes", lambda v: _range_ok(v) and v[0] >= 1, "must be [low, high] minutes, low >= 1"),
    ("ramp_minutes", lambda v: _range_ok(v) and v[0] >= 1, "must be [low, high] minutes, low >= 1"),
    ("shift_minutes", lambda v: _range_ok(v) and v[0] >= 1, "must be [low, high] minutes, low >= 1"),
    ("surge_minutes", lambda v: _range_ok(v) and v[0] >= 1, "must be [low, high] minutes, low >= 1"),
    ("host_latency_multiplier", _range_ok, "must be [low, high] with 0 <= low <= high"),
    ("surge_multiplier", lambda v: _range_ok(v) and v[0] >= 1, "must be [low, high] with 1 <= low <= high"),
    ("latency_seasonality", lambda v: _fraction(v) and v < 1, "must be a fraction in [0, 1): latency stays positive"),
    ("incident_kinds", lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(k in INCIDENT_KINDS for k in v),
     f"must list known incident kinds ({', '.join(INCIDENT_KINDS)})"),
    ("bucket", lambda v: v == AUTO or _bucket_ok(v), "must be 'auto' or like '1 minute', '5 minutes' or '1 hour'"),
    ("window", _bucket_ok, "must be like '30 minutes' or '1 hour'"),
    ("top_n", _positive, "must be at least 1"),
    ("max_timestamp_age_days", _positive, "must be a positive number of days"),
    ("max_timestamp_ahead_hours", _non_negative, "must be 0 or more hours"),
    ("min_response_time_ms", lambda v: isinstance(v, (int, float)) and math.isfinite(v), "must be a finite number"),
    ("max_response_time_ms", lambda v: isinstance(v, (int, float)) and math.isfinite(v), "must be a finite number"),
    ("threshold", _positive, "must be positive"),
    ("persistence", _positive, "must be at least 1 bucket"),
    ("spike_threshold", _positive, "must be positive"),
    ("min_history", _positive, "must be at least 1 bucket"),
    ("method", lambda v: v in BASELINE_METHODS, f"is not a known baseline method ({', '.join(BASELINE_METHODS)})"),
    ("input_format", lambda v: v in FORMATS, f"is not a known input format ({', '.join(FORMATS)})"),
    ("charts", lambda v: isinstance(v, (list, tuple)) and all(isinstance(c, str) and c in REPORT_CHARTS for c in v),
     f"names a chart that is not drawn (known: {', '.join(REPORT_CHARTS)})"),
    ("value_name", lambda v: isinstance(v, str) and v.strip() != "", "must name the value, e.g. latency, CPU or value"),
    ("failure_levels", lambda v: isinstance(v, (list, tuple)) and all(isinstance(n, str) and n.strip() for n in v),
     "must list level names, e.g. [ERROR, FATAL]"),
    ("service_from", lambda v: v in ("constant", "vhost", "path_prefix", "file", "container"),
     "must be constant, vhost, path_prefix, file or container"),
    ("container_log", lambda v: v in ("", *container.RUNTIMES),
     f"must be empty (lines as they are) or one of {', '.join(container.RUNTIMES)}"),
    ("syslog_end_date", lambda v: v == "" or _iso_date(v),
     "must be empty (each file's modification time) or the day the logs end, as YYYY-MM-DD"),
    ("time_unit", lambda v: v in TIME_UNITS_MS, f"must be one of {sorted(TIME_UNITS_MS)}"),
    ("duration_unit", lambda v: v in TIME_UNITS_MS, f"must be one of {sorted(TIME_UNITS_MS)}"),
    ("pattern", lambda v: not v or pattern_ok(v, needs_timestamp=False),
     "must name its groups after canonical fields ((?<status_code>...))"),
    ("log_format", lambda v: not v or log_format_ok(v), "is not an Apache LogFormat or nginx log_format string"),
]


def _cross_checks(effective: dict) -> list[str]:
    problems = []
    if _bucket_ok(effective.get("bucket")) and _bucket_ok(effective.get("window")):
        if duration_seconds(effective["window"]) < duration_seconds(effective["bucket"]):
            problems.append(f"window {effective['window']!r} is shorter than a bucket "
                            f"({effective['bucket']!r}): the baseline would be empty")
        elif isinstance(effective.get("min_history"), int) and effective["min_history"] > (
                duration_seconds(effective["window"]) // duration_seconds(effective["bucket"])):
            problems.append(f"min_history {effective['min_history']} buckets is more than a {effective['window']!r} "
                            f"window holds: no bucket would ever be scored")
    low, high = effective.get("min_response_time_ms"), effective.get("max_response_time_ms")
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low >= high:
        problems.append(f"min_response_time_ms {low} is not below max_response_time_ms {high}: every record "
                        "would be quarantined")
    if _positive(effective.get("threshold")) and _positive(effective.get("spike_threshold")) and (
            effective["spike_threshold"] < effective["threshold"]):
        problems.append(f"spike_threshold {effective['spike_threshold']} is below threshold {effective['threshold']}: "
                        f"a bucket it lets through would not even be flagged")
    if effective.get("container_log") and str(effective.get("input_format", "")).startswith("csv"):
        problems.append(f"container_log {effective['container_log']!r} unwraps log lines; "
                        f"{effective['input_format']} files are not a container's output")
    pattern = effective.get("pattern")
    if (effective.get("input_format") == "regex" and isinstance(pattern, str) and pattern_ok(pattern, False)
            and not pattern_ok(pattern) and not effective.get("container_log")):
        problems.append("pattern has no (?<timestamp>...) group: a record without a time cannot be placed "
                        "(a container's lines take their runtime's time: container_log)")
    path = effective.get("input_path")
    if effective.get("source") == "ingest" and isinstance(path, str):
        problems += _readable_path_problems("input_path", path) or _input_file_problems(path, effective.get("file_glob"))
    for key in ("labels_path", "reference_results_path", "reference_events_path"):
        if isinstance(effective.get(key), str) and effective[key]:  # empty: not used
            problems += _readable_path_problems(key, effective[key])
    return problems


def _local_path(path: str) -> str | None:
    """The local path a `data_root`/`input_path` names, or None for another filesystem's URI."""
    if path.startswith("file:"):
        return "/" + path[len("file:"):].lstrip("/")
    return None if "://" in path else path


def _readable_path_problems(key: str, path: str) -> list[str]:
    local = _local_path(path)
    if local is None:
        return []  # hdfs://, s3a://...: only Spark can tell
    if not os.path.exists(local):
        return [f"{key} {path!r} does not exist"]
    if not (os.path.isfile(local) or os.path.isdir(local)):
        return [f"{key} {path!r} is neither a file nor a folder"]
    if not os.access(local, os.R_OK | (os.X_OK if os.path.isdir(local) else 0)):
        return [f"{key} {path!r} is not readable"]
    return []


def _input_file_problems(path: str, file_glob: Any) -> list[str]:
    """A local input folder must hold a file the reader will take: Spark skips files and folders
    whose names start with `.` or `_`, follows folder links and, with `file_glob`, takes the file
    names that match it (a Hadoop glob; one with `{a,b}` alternatives or a negated `[!x]`/`[^x]`
    class, which Python's fnmatch reads otherwise, is left to Spark)."""
    local = _local_path(path)
    if local is None or not os.path.isdir(local):
        return []
    pattern = file_glob if isinstance(file_glob, str) and file_glob else None
    if pattern and any(mark in pattern for mark in ("{", "[!", "[^")):
        return []
    hidden = (".", "_")
    for _, folders, names in os.walk(local, followlinks=True):
        folders[:] = [folder for folder in folders if not folder.startswith(hidden)]
        if any(not name.startswith(hidden) and (pattern is None or fnmatch.fnmatchcase(name, pattern))
               for name in names):
            return []
    wanted = f"file matching file_glob {file_glob!r}" if pattern else "file"
    return [f"input_path {path!r} holds no {wanted} (names starting with '.' or '_' are skipped, as Spark does)"]


def data_root_problems(data_root: Any) -> list[str]:
    """Why `data_root` cannot hold a run's outputs: empty, a filesystem's root (every stage
    replaces whole folders under it), not a folder, or a local folder this user cannot write
    (nor create). Checked before Spark starts; URIs of other filesystems only for their root."""
    if not isinstance(data_root, str) or not data_root.strip():
        return [f"data_root {data_root!r} is empty: name the folder that will hold the outputs"]
    local = _local_path(data_root)
    if local is None:
        _, _, rest = data_root.partition("://")
        root_level = "/" not in rest.rstrip("/")
    else:
        local = os.path.abspath(local)
        root_level = os.path.dirname(local) == local
    if root_level:
        return [f"data_root {data_root!r} is the root of a filesystem: name a folder under it"]
    if local is None:
        return []
    if os.path.exists(local):
        if not os.path.isdir(local):
            return [f"data_root {data_root!r} exists and is not a folder"]
        if not os.access(local, os.W_OK | os.X_OK):
            return [f"data_root {data_root!r} is not writable"]
        return []
    parent = os.path.dirname(local)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        return [f"data_root {data_root!r} does not exist and cannot be created: {parent} is not a writable folder"]
    return []


# What a source changes in the stages' own defaults: ingested logs come at any spacing, so their
# bucket is chosen from the data unless the profile sets one.
SOURCE_DEFAULTS = {"ingest": {"bucket": AUTO}}
# What an input format changes in them: a `csv_series` file holds a metric of any kind (CPU,
# bytes, a count), not a response time, so the pages call it a value without a unit unless the
# profile names it.
FORMAT_DEFAULTS = {"csv_series": {"value_name": "value", "value_unit": ""}}


def check(params: dict) -> dict[str, dict]:
    """Check a loaded params file; return the parameters to pass to each stage, in run order.

    Raises ParameterError listing every problem: unknown keys, wrong types, impossible values.
    """
    problems: list[str] = []
    source = params.get("source", RUNNER_KEYS["source"])
    if source not in SOURCES:
        raise ParameterError(f"source {source!r} must be one of {sorted(SOURCES)}")
    stages = SOURCES[source]
    input_format = params.get("input_format") if source == "ingest" else None
    params = {**SOURCE_DEFAULTS.get(source, {}), **FORMAT_DEFAULTS.get(input_format, {}), **params}
    declarations = {stage: declared(stage) for stage in stages}
    known = set(RUNNER_KEYS).union(*declarations.values())

    for key in params:
        if key in RUNNER_SUPPLIED:
            problems.append(f"{key!r} is set by the runner for each run; remove it from the params file")
        elif key not in known:
            problems.append(f"unknown parameter {key!r}: no stage of a {source!r} run declares it")

    effective: dict = {"source": source}
    for spec in declarations.values():
        for name, meta in spec.items():
            effective.setdefault(name, _literal(meta["default"]))
    for stage, spec in declarations.items():
        for name, meta in spec.items():
            if name in params and not _type_ok(params[name], meta["type"]):
                problems.append(f"{name!r} must be {meta['type']} ({stage}), got {params[name]!r}")
    effective.update({k: v for k, v in params.items() if k in known})

    for key, is_ok, message in VALUE_RULES:
        if key in effective and effective[key] is not None and not is_ok(effective[key]):
            problems.append(f"{key} = {effective[key]!r} {message}")
    problems += _cross_checks(effective)
    if isinstance(params.get("data_root"), str):  # the notebooks' own default is relative to their folder
        problems += data_root_problems(params["data_root"])
    if problems:
        raise ParameterError("invalid parameters:\n  - " + "\n  - ".join(dict.fromkeys(problems)))

    return {
        stage: {name: params[name] for name in spec if name in params}
        for stage, spec in declarations.items()
    }


def with_absolute_paths(stage_params: dict, base: Path) -> dict:
    """Relative local paths resolved against `base`; URIs (scheme://) are left as they are."""
    resolved = dict(stage_params)
    for key in PATH_KEYS:
        value = resolved.get(key)
        if key.startswith("reference_") and not value:
            continue
        if isinstance(value, str) and value and "://" not in value and not os.path.isabs(value):
            resolved[key] = str((base / value).resolve())
    return resolved
