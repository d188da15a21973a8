"""Whole-or-nothing outputs and readers that refuse incomplete ones."""

import os

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
