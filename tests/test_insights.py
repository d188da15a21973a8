"""The report's pandas reshapes, on hand-made aggregates."""

import pandas as pd

from loganalysis.report import insights


def test_incident_counts_per_series_include_series_without_incidents():
    summary = pd.DataFrame({"service": ["api", "api", "web"], "environment": ["prod", "dev", "prod"],
                            "requests": [10, 5, 7]})
    incidents = pd.DataFrame({"service": ["api", "api", "web"], "environment": ["prod", "prod", "prod"],
                              "metric": ["p95_ms", "error_rate", "requests"]})
    counted = insights.summary_with_incident_counts(summary, incidents)
    assert counted[["service", "environment", "requests", "incidents"]].values.tolist() == [
        ["api", "prod", 10, 2], ["api", "dev", 5, 0], ["web", "prod", 7, 1]]
    assert counted["incidents"].dtype == "int64"
    none = insights.summary_with_incident_counts(summary, incidents.iloc[0:0])
    assert none["incidents"].tolist() == [0, 0, 0]
