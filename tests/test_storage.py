"""Whole-or-nothing outputs and readers that refuse incomplete ones."""

import json
import os
import socket
import uuid

import pytest

from loganalysis.core import storage


def test_commit_swaps_outputs_in_together(spark, tmp_path):
    root = str(tmp_path)
    with storage.stage_outputs(spark, f"{root}/_staging") as out:
        out.write_parquet(spark.range(3), f"{root}/a")
        out.write_parquet(spark.range(5), f"{root}/b")
        assert not os.path.exists(f"{root}/a")  # nothing visible before the commit
    assert storage.read_parquet(spark, f"{root}/a").count() == 3
    assert storage.read_parquet(spark, f"{root}/b").count() == 5
    assert os.listdir(f"{root}/_staging") == []


def test_a_failing_stage_leaves_previous_outputs_untouched(spark, tmp_path):
    root = str(tmp_path)
    with storage.stage_outputs(spark, f"{root}/_staging") as out:
        out.write_parquet(spark.range(3), f"{root}/a")
    before = sorted(os.listdir(f"{root}/a"))
    with pytest.raises(RuntimeError):
        with storage.stage_outputs(spark, f"{root}/_staging") as out:
            out.write_parquet(spark.range(100), f"{root}/a")
            raise RuntimeError("stage failed after writing")
    assert sorted(os.listdir(f"{root}/a")) == before
    assert storage.read_parquet(spark, f"{root}/a").count() == 3


def test_injected_write_fault_fails_mid_write(spark, tmp_path, monkeypatch):
    root = str(tmp_path)
    monkeypatch.setenv(storage.FAULT_ENV, "a:1")
    with pytest.raises(Exception, match="injected write fault"):
        with storage.stage_outputs(spark, f"{root}/_staging") as out:
            out.write_parquet(spark.range(0, 100, numPartitions=4), f"{root}/a")
    assert not os.path.exists(f"{root}/a")


def test_readers_refuse_output_without_success_marker(spark, tmp_path):
    path = str(tmp_path / "half")
    spark.range(3).write.parquet(path)
    os.remove(os.path.join(path, "_SUCCESS"))
    with pytest.raises(storage.IncompleteOutputError, match="_SUCCESS"):
        storage.read_parquet(spark, path)
    with pytest.raises(storage.IncompleteOutputError, match="does not exist"):
        storage.read_parquet(spark, str(tmp_path / "never"))


def test_partitions_of_one_scratch_write_become_separate_outputs(spark, tmp_path):
    root = str(tmp_path)
    rows = spark.range(10).selectExpr("id", "IF(id < 7, 'kept', 'set aside') AS part")
    with storage.stage_outputs(spark, f"{root}/_staging") as out:
        folder = out.write_parquet_scratch(rows, "split", ["part"])
        out.adopt(f"{folder}/part=kept", f"{root}/kept")
        out.adopt(f"{folder}/part=never", f"{root}/empty")
    assert sorted(r.id for r in storage.read_parquet(spark, f"{root}/kept").collect()) == list(range(7))
    assert storage.read_parquet(spark, f"{root}/empty", rows.schema).count() == 0
    assert os.listdir(f"{root}/_staging") == []  # the scratch write went with the staging folder


def test_staging_folders_of_dead_runs_are_removed_by_the_next_stage(spark, tmp_path):
    """Issue #22, case 9: a killed run's staging folder does not stay forever; folders of live
    processes, of other hosts and recent ones of unknown owner are left alone."""
    import socket
    import subprocess
    import sys
    import time
    import uuid

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host, staging = socket.gethostname(), tmp_path / "_staging"
    names = {"dead": f"{host}-{dead.pid}-{uuid.uuid4().hex}", "live": f"{host}-{os.getpid()}-{uuid.uuid4().hex}",
             "other host": f"elsewhere-{dead.pid}-{uuid.uuid4().hex}", "old unowned": uuid.uuid4().hex,
             "recent unowned": uuid.uuid4().hex}
    for name in names.values():
        (staging / name / "00").mkdir(parents=True)
        (staging / name / "00" / "part-0.parquet").write_bytes(b"half written")
    day_and_more = time.time() - 25 * 3600
    os.utime(staging / names["old unowned"], (day_and_more, day_and_more))

    with storage.stage_outputs(spark, str(staging)) as out:
        out.write_parquet(spark.range(2), str(tmp_path / "a"))

    assert sorted(os.listdir(staging)) == sorted([names["live"], names["other host"], names["recent unowned"]])
    assert storage.read_parquet(spark, str(tmp_path / "a")).count() == 2


def test_a_commit_stopped_between_moves_is_finished_by_the_next_reader(spark, tmp_path):
    """Past its journal a commit counts as done: a stop anywhere between the moves (here: `a`
    moved in, `b`'s old output moved aside but the new one not yet in) is finished by the next
    read of any output of the data root, so no reader sees old `b` beside new `a`."""
    root = str(tmp_path)
    with storage.stage_outputs(spark, f"{root}/_staging") as out:
        out.write_parquet(spark.range(1), f"{root}/a")
        out.write_parquet(spark.range(1), f"{root}/b")
    stopped = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"  # this process, not committing now
    out = storage.StageOutputs(spark, f"{root}/_staging/{stopped}")
    out.write_parquet(spark.range(2), f"{root}/a")
    out.write_parquet(spark.range(2), f"{root}/b")
    out.retire(f"{root}/a_retired_one")
    spark.range(1).write.parquet(f"{root}/a_retired_one")
    os.rename(f"{root}/_staging/{stopped}/00", f"{root}/_staging/{stopped}/00-unused")
    journal = [{"staged": f"{root}/_staging/{stopped}/00-unused", "final": f"{root}/a"},
               {"staged": f"{root}/_staging/{stopped}/01", "final": f"{root}/b"},
               {"retire": f"{root}/a_retired_one"}]
    (tmp_path / "_staging" / stopped / storage.COMMIT_JOURNAL).write_text(
        "\n".join(json.dumps(entry) for entry in journal))
    os.rename(f"{root}/_staging/{stopped}/00-unused", f"{root}/a.new")  # the first move done ...
    os.rename(f"{root}/a", f"{root}/_staging/{stopped}/00-unused-replaced")
    os.rename(f"{root}/a.new", f"{root}/a")
    os.rename(f"{root}/b", f"{root}/_staging/{stopped}/01-replaced")  # ... the second half done

    assert os.path.exists(f"{root}/a_retired_one")
    assert storage.read_parquet(spark, f"{root}/a").count() == 2
    assert storage.read_parquet(spark, f"{root}/b").count() == 2
    assert not os.path.exists(f"{root}/a_retired_one")
    assert os.listdir(f"{root}/_staging") == []


RAW_LINE = ('{{"timestamp": "2026-11-02T10:{minute:02d}:00Z", "service": "api", "environment": "prod", '
            '"host": "h1", "level": "INFO", "status_code": {status}, "response_time_ms": 12.5, '
            '"method": "GET", "endpoint": "/x", "client_ip": "1.2.3.4", "user_id": "u", '
            '"message": "ok", "trace_id": "t", "bytes_sent": 10}}')


def write_raw_logs(root, clean: int, broken: int) -> None:
    folder = root / "raw_logs" / "service=api" / "environment=prod"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [RAW_LINE.format(minute=i % 60, status=500 if i % 5 == 0 else 200) for i in range(clean)]
    (folder / "part-0.json").write_text("\n".join(lines + ["{not json"] * broken) + "\n")
    (root / "raw_logs" / "_SUCCESS").touch()


def generation(path) -> set[str]:
    """The data files of an output: Spark names each write's files uniquely, so a changed set is
    another generation."""
    return {name for _, _, names in os.walk(path) for name in names if name.endswith(".parquet")}


@pytest.mark.pipeline
def test_a_stage_killed_during_its_commit_leaves_one_generation_and_the_next_run_succeeds(spark, tmp_path):
    """Issue #22: kill -9 of the metrics stage after two of its nine outputs were swapped in.
    Every output read afterwards is of the new generation (the journal is rolled forward), none
    of the old, and the stage then runs again."""
    import subprocess
    import sys

    from loganalysis import stages
    from loganalysis.core.paths import DataPaths

    paths = DataPaths(str(tmp_path))
    outputs = [paths.clean_logs, paths.quarantine, *vars(paths.metrics).values()]
    write_raw_logs(tmp_path, clean=30, broken=1)
    stages.compute_metrics(spark, paths, 60, 5)
    old = {output: generation(output) for output in outputs}

    write_raw_logs(tmp_path, clean=50, broken=3)
    killed = subprocess.run(
        [sys.executable, "-c",
         "import sys; from loganalysis import stages; from loganalysis.core.paths import DataPaths; "
         "from loganalysis.core.session import get_spark; "
         "spark = get_spark('local[1]', 'killed-commit', {'spark.ui.enabled': 'false', "
         "'spark.sql.shuffle.partitions': '2'}); "
         "stages.compute_metrics(spark, DataPaths(sys.argv[1]), 60, 5)", str(tmp_path)],
        env={**os.environ, storage.KILL_IN_COMMIT_ENV: "2"}, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    on_disk = {output: generation(output) for output in outputs}
    assert sum(on_disk[output] != old[output] for output in outputs) == 2  # the mix the kill left
    assert list(tmp_path.glob(f"_staging/*/{storage.COMMIT_JOURNAL}"))

    summary = storage.read_parquet(spark, paths.metrics.summary).collect()  # any read settles it
    assert all(generation(output) and generation(output).isdisjoint(old[output]) for output in outputs)
    assert [row.requests for row in summary] == [50]
    assert storage.read_parquet(spark, paths.quarantine).count() == 3
    assert os.listdir(tmp_path / "_staging") == []

    assert stages.compute_metrics(spark, paths, 60, 5) == {"lines_in": 53, "clean": 50, "quarantined": 3,
                                                            "bucket_seconds": 60}


def test_jobs_side_by_side_return_by_name_and_every_failure_is_told():
    from loganalysis.stages import side_by_side

    assert side_by_side({"a": lambda: 1, "b": lambda: "two"}) == {"a": 1, "b": "two"}

    def fails(message):
        def job():
            raise ValueError(message)
        return job

    with pytest.raises(ValueError, match="first") as raised:
        side_by_side({"ok": lambda: 1, "one": fails("first"), "two": fails("second")})
    assert raised.value.__notes__ == ["in the job 'one'", "the job 'two' failed too: ValueError: second"]
