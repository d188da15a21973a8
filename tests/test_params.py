"""Stage notebooks declare their parameters properly, and bad parameter files never run."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from loganalysis import params

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
    per_stage = params.validate(params.load(profile))
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
    ({"method": "magic"}, "must be 'robust' or 'mean'"),
    ({"bad_line_rate": 2.0}, "must be a fraction"),
    ({"run_dir": "/tmp/x"}, "set by the runner"),
    ({"source": "ingest", "input_path": "/no/such/file.log"}, "input_path '/no/such/file.log' does not exist"),
    ({"source": "ingest", "input_format": "syslog"}, "is not a known input format"),
    ({"window": "1 hour", "bucket": "1 minute", "min_history": 90}, "is more than a '1 hour' window holds"),
    ({"threshold": 4.0, "spike_threshold": 3.0}, "spike_threshold 3.0 is below threshold 4.0"),
]


@pytest.mark.parametrize("overrides,message", BAD, ids=[m for _, m in BAD])
def test_bad_parameters_are_refused_with_a_clear_message(overrides, message):
    base = {"source": "synthetic"}
    with pytest.raises(params.ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        params.validate({**base, **overrides})


def test_runner_refuses_bad_params_before_writing_anything(tmp_path):
    profile = tmp_path / "bad.yaml"
    profile.write_text(yaml.safe_dump({"data_root": str(tmp_path / "data"), "n_records": -1, "typo": 1}))
    result = subprocess.run([sys.executable, "-m", "loganalysis", "run", "--params", str(profile),
                             "--reports", str(tmp_path / "reports")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown parameter 'typo'" in result.stderr and "n_records = -1" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]
