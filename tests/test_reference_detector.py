"""NAB's published detectors, scored by this project's evaluation, reproduce the figures in
../shared/data/README.md: the scoring is the same as the shared event scoring."""

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import profile_in, run_pipeline
from loganalysis.detect import evaluate, reference
from loganalysis.sources import ingest
from loganalysis.core.storage import read_parquet

NAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"
pytestmark = pytest.mark.skipif(not NAB.exists(), reason="../shared/data is not beside the checkout")


def nab_truth_and_scoring_start():
    truth = pd.DataFrame(ingest.label_windows(json.loads((NAB / "label_windows.json").read_text()), "prod"),
                         columns=["incident_id", "kind", "service", "environment", "start", "end", "magnitude"])
    starts = []
    for path in sorted((NAB / "data").rglob("*.csv")):
        timestamps = pd.read_csv(path, parse_dates=["timestamp"])["timestamp"]
        probation = min(int(len(timestamps) * 0.15), 750)
        starts.append({"service": path.stem, "environment": "prod", "start": timestamps.iloc[probation]})
    return truth, pd.DataFrame(starts)


# (caught, events, false) of each detector on the 29 development series, from ../shared/data/README.md
PUBLISHED = {"contextOSE": (51, 81, 28), "relativeEntropy": (41, 190, 75), "numenta": (49, 159, 77),
             "ARTime": (56, 181, 100), "htmjava": (48, 213, 115), "windowedGaussian": (35, 243, 155)}


def test_nab_windowed_gaussian_results_score_as_published():
    truth, scoring_start = nab_truth_and_scoring_start()
    events = reference.read_reference_events(str(NAB / "results"), "prod")
    _, summary = evaluate.score(events, truth, scoring_start=scoring_start)
    assert (summary["truth_windows"], summary["caught"], summary["events"], summary["false_events"]) == (57, 35, 243, 155)
    assert (summary["recall"], summary["precision"]) == (pytest.approx(0.614, abs=0.0005), pytest.approx(0.362, abs=0.0005))


@pytest.mark.parametrize("detector", sorted(PUBLISHED))
def test_published_detectors_score_as_published(detector):
    truth, scoring_start = nab_truth_and_scoring_start()
    events = reference.read_published_events(str(NAB / "reference_events.json"), "prod")[detector]
    _, summary = evaluate.score(events, truth, scoring_start=scoring_start)
    assert (summary["caught"], summary["events"], summary["false_events"]) == PUBLISHED[detector]


@pytest.mark.pipeline
def test_nab_profile_scores_above_nab_windowed_gaussian(spark, tmp_path):
    """params/nab_example.yaml through the runner, scored with the same windows and probation as
    NAB's windowed Gaussian (the z-score detector of the published set): a higher F1 with fewer
    false events, at least 0.70, and every published detector listed beside it in the stage's
    evaluation."""
    result = run_pipeline(profile_in(tmp_path, "nab_example"), tmp_path / "reports", "nab")
    assert result.returncode == 0, result.stdout + result.stderr

    ours = read_parquet(spark, str(tmp_path / "data/anomalies/evaluation")).where("kind = 'all'").first().asDict()
    truth, scoring_start = nab_truth_and_scoring_start()
    nab = evaluate.score(reference.read_reference_events(str(NAB / "results"), "prod"),
                         truth, scoring_start=scoring_start)[1]
    assert ours["truth_windows"] == nab["truth_windows"] == 57
    assert ours["f1"] > nab["f1"], (ours, nab)
    assert ours["false_events"] < nab["false_events"], (ours, nab)
    assert ours["f1"] >= 0.70, ours  # issue #17's bar on the development half (0.7105 on 2026-12-02)
    page = (tmp_path / "reports" / "nab" / "03_detect_anomalies.html").read_text()
    assert all(name in page for name in PUBLISHED), "every published detector is compared"
