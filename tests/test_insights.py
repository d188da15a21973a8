"""The report's pandas reshapes, on hand-made aggregates."""

import pandas as pd

from loganalysis.report import insights, tables


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


T = pd.Timestamp("2026-11-03 02:09")
SIGNALS = [{"metric": "mean_ms", "direction": "up", "peak_value": 500.1, "baseline_at_start": 91.2, "peak_z": 66.6},
           {"metric": "p95_ms", "direction": "up", "peak_value": 1587.6, "baseline_at_start": 214.6, "peak_z": 39.56}]
INCIDENTS = pd.DataFrame({
    "service": ["checkout", "auth"], "environment": ["prod", "prod"], "start": [T, T - pd.Timedelta(hours=5)],
    "end": [T + pd.Timedelta(minutes=14), T - pd.Timedelta(hours=4)], "minutes": [14.0, 60.0],
    "severity": ["critical", "minor"], "peak_z": [66.6, -5.2], "peak_metric": ["mean_ms", "requests"],
    "signals": [SIGNALS, [{"metric": "requests", "direction": "down", "peak_value": 80.0, "baseline_at_start": 100.0,
                           "peak_z": -5.2}]],
    "cascade_id": [None, None], "explanation": ["host=checkout-prod-03 (80% vs 25%)", None]})


def test_the_story_names_the_worst_incident_with_its_figures():
    summary = pd.DataFrame({"service": ["checkout", "auth"], "environment": ["prod", "prod"]})
    timeseries = pd.DataFrame({"bucket": [T - pd.Timedelta(hours=26), T + pd.Timedelta(hours=22)]})
    story = insights.story(summary, INCIDENTS, timeseries)
    assert story[0] == "2 incidents over 2 series in 48 hours from 2026-11-02 00:09 UTC: 1 critical, 1 minor"
    assert story[1] == ("Worst: checkout/prod, critical, 14 minutes from 2026-11-03 02:09 UTC: mean latency 500 ms "
                        "against 91.2 ms (5.5x, z 66.6); p95 latency 1,588 ms against 215 ms (7.4x, z 39.6).")
    assert story[2] == "Over-represented in it: host=checkout-prod-03 (80% vs 25%)."


def test_incident_table_is_worst_first_and_tables_have_no_index_and_few_decimals():
    table = tables.incident_table(INCIDENTS)
    assert table["series"].tolist() == ["checkout / prod", "auth / prod"]
    assert table["what moved"].iloc[1] == "requests 80/bucket against 100/bucket (0.8x, z -5.2)"
    html = tables.show(pd.DataFrame({"p95_ms": [144.354], "error_rate_5xx": [0.003111], "ratio": [1.23456],
                                     "start": [T]})).to_html()
    assert "144 ms" in html and "0.31%" in html and "1.23" in html and "2026-11-03 02:09 UTC" in html
    assert "1.23456" not in html and "144.354" not in html and "row_heading" not in html


def test_sentences_reach_html_escaped():
    assert tables.paragraphs(["<script>x</script> & more"]) == (
        "<p style='font-size:1.1em'>&lt;script&gt;x&lt;/script&gt; &amp; more</p>")


def test_tables_escape_log_text():
    html = tables.show(pd.DataFrame({"endpoint": ["<img src=x onerror=alert(1)>"], "<b>": [1.5]})).to_html()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "<b>" not in html


def test_a_card_names_the_messages_first_logged_during_its_incident():
    from loganalysis.report import insights
    from loganalysis.report.tables import describe_incident
    t = pd.Timestamp("2026-11-02 10:00")
    incidents = pd.DataFrame({"service": ["api", "web"], "environment": ["prod", "prod"],
                              "start": [t, t], "end": [t + pd.Timedelta(minutes=20)] * 2})
    templates = pd.DataFrame({
        "service": ["api", "api", "api", "web"], "environment": "prod",
        "template": ["Connection to <*> refused", "GET <*> ok", "Pool exhausted after <*>", "Disk full"],
        "lines": [412, 90_000, 7, 3],
        "first_seen": [t + pd.Timedelta(minutes=2), t - pd.Timedelta(days=1), t + pd.Timedelta(minutes=19),
                       t + pd.Timedelta(hours=2)]})
    new = insights.first_seen_during(incidents, templates)
    assert list(new) == [[("Connection to <*> refused", 412), ("Pool exhausted after <*>", 7)], []]
    card = incidents.assign(new_messages=new, severity="major", minutes=20.0, signals=[[], []]).iloc[0]
    sentence = describe_incident(card)
    assert "First logged during it: “Connection to <*> refused” (412 lines); “Pool exhausted after <*>” (7 lines)." in sentence
    assert "First logged" not in describe_incident(incidents.assign(new_messages=new, severity="minor", minutes=20.0,
                                                                    signals=[[], []]).iloc[1])
