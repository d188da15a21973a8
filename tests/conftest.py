import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from loganalysis.core.session import get_spark


@pytest.fixture(scope="session")
def spark():
    session = get_spark("local[2]", "loganalysis-tests",
                        {"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"})
    yield session
    session.stop()


ROOT = Path(__file__).resolve().parents[1]


def run_pipeline(profile: Path, reports: Path, run_id: str, env_extra=None):
    """The README's run command, as a separate process (its own Spark driver)."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "loganalysis", "run", "--params", str(profile),
                           "--reports", str(reports), "--run-id", run_id],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)


def profile_in(work: Path, name: str, **overrides) -> Path:
    """params/<name>.yaml with its outputs under `work/data` (and any overrides), saved in `work`."""
    settings = yaml.safe_load((ROOT / "params" / f"{name}.yaml").read_text())
    settings.update(data_root=str(work / "data"), **overrides)
    profile = work / f"{name}.yaml"
    profile.write_text(yaml.safe_dump(settings))
    return profile


@pytest.fixture(scope="session")
def first_run(tmp_path_factory):
    """One pipeline run on params/ci.yaml, shared by the pipeline and page tests."""
    work = tmp_path_factory.mktemp("pipeline")
    profile = profile_in(work, "ci")
    result = run_pipeline(profile, work / "reports", "first")
    assert result.returncode == 0, result.stdout + result.stderr
    return work, profile, result
