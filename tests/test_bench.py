"""The bench's bookkeeping: which of several timed runs it reports."""

from loganalysis.ops import bench


def test_whole_runs_report_the_fastest_run_and_each_stage_at_its_best():
    runs = [{"stage": "end to end", "records": 1000, "seconds": 10.0, "stage_seconds": {"01": 4.0, "02": 6.0}},
            {"stage": "end to end", "records": 1000, "seconds": 9.0, "stage_seconds": {"01": 5.0, "02": 4.0}}]
    best = bench.best_end_to_end(runs)
    assert best["seconds"] == 9.0 and best["all_seconds"] == [10.0, 9.0] and best["records_per_second"] == 111
    assert best["stage_seconds"] == {"01": 4.0, "02": 4.0}  # each stage's best, whichever run it came from
    assert best["all_stage_seconds"] == [runs[0]["stage_seconds"], runs[1]["stage_seconds"]]
    assert runs[1]["stage_seconds"] == {"01": 5.0, "02": 4.0}  # the runs themselves left as measured
    single = bench.best_end_to_end(runs[:1])
    assert single["stage_seconds"] == {"01": 4.0, "02": 6.0} and "all_stage_seconds" not in single
