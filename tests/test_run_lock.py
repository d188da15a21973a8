"""One run at a time per data root (issue #22, case 6)."""

import json
import subprocess
import sys

import pytest
import yaml

from loganalysis.ops import run_lock


def test_a_second_run_on_a_held_data_root_fails_at_once_naming_the_holder(tmp_path):
    held = run_lock.acquire(tmp_path, "first")
    with pytest.raises(run_lock.DataRootBusy, match=r"in use by run 'first' \(pid \d+"):
        run_lock.acquire(tmp_path, "second")
    assert json.loads((tmp_path / run_lock.LOCK_FILE).read_text())["run_id"] == "first"  # untouched
    held.release()
    again = run_lock.acquire(tmp_path, "second")
    assert json.loads((tmp_path / run_lock.LOCK_FILE).read_text())["run_id"] == "second"
    again.release()
    assert (tmp_path / run_lock.LOCK_FILE).read_text() == ""  # released: nobody named


def test_the_lock_of_a_killed_run_is_taken_over_with_a_warning(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / run_lock.LOCK_FILE).write_text(json.dumps({"run_id": "killed", "pid": dead.pid, "host": "h"}))
    warnings = []
    lock = run_lock.acquire(tmp_path, "next", warn=warnings.append)
    assert len(warnings) == 1 and "taking over the lock of run 'killed'" in warnings[0]
    assert json.loads((tmp_path / run_lock.LOCK_FILE).read_text())["run_id"] == "next"
    lock.release()


def test_a_lock_held_by_another_process_is_respected(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from loganalysis.ops import run_lock; "
         f"lock = run_lock.acquire({str(tmp_path)!r}, 'other'); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(run_lock.DataRootBusy, match=f"in use by run 'other' \\(pid {holder.pid}"):
            run_lock.acquire(tmp_path, "mine")
    finally:
        holder.kill()
        holder.wait()
    warnings = []
    run_lock.acquire(tmp_path, "mine", warn=warnings.append).release()  # killed: its lock is free
    assert "run 'other'" in warnings[0]


def test_the_runner_refuses_a_data_root_in_use_with_exit_2(tmp_path):
    data = tmp_path / "data"
    held = run_lock.acquire(data, "busy")
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({"data_root": str(data), "n_records": 100, "spark_master": "local[1]"}))
    try:
        result = subprocess.run([sys.executable, "-m", "loganalysis", "run", "--params", str(profile),
                                 "--reports", str(tmp_path / "reports")], capture_output=True, text=True, timeout=120)
    finally:
        held.release()
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"data_root {data} is in use by run 'busy'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists() and sorted(p.name for p in data.iterdir()) == [run_lock.LOCK_FILE]


@pytest.mark.parametrize("root,expected", [("data/x", "data/x"), ("/abs/x", "/abs/x"), ("file:///abs/x", "/abs/x"),
                                           ("file:/abs/x", "/abs/x"), ("hdfs://nn:8020/x", None)])
def test_only_local_data_roots_are_locked(root, expected):
    local = run_lock.local_data_root(root)
    assert (str(local) if local else None) == expected


def test_a_failure_of_the_runner_itself_names_its_root_cause_keeps_the_traceback_and_frees_the_lock(
        tmp_path, monkeypatch, capsys):
    from loganalysis.ops import runner

    def broken_stage(stage, stage_params, run_dir, kernel):
        try:
            raise OSError(28, "No space left on device")
        except OSError as error:
            raise RuntimeError("could not render the stage's page") from error

    monkeypatch.setattr(runner, "_run_stage", broken_stage)  # no stage runs, no Spark starts
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({"data_root": str(tmp_path / "data")}))

    code = runner.run(profile, tmp_path / "reports", "broken")

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[0] == "error: the runner failed: OSError: [Errno 28] No space left on device"
    details = tmp_path / "reports" / "broken" / runner.RUNNER_ERROR_FILE
    assert err[1] == f"  details: {details}" and "could not render the stage's page" in details.read_text()
    run_lock.acquire(tmp_path / "data", "after", warn=pytest.fail).release()  # released, not left stale
