"""The report's pandas reshapes, on hand-made aggregates."""

import json

import pandas as pd
import pytest

from loganalysis.report import insights, publish, tables


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
    summary = pd.DataFrame({"service": ["checkout", "auth", "search"], "environment": ["prod", "prod", "prod"]})
    timeseries = pd.DataFrame({"bucket": [T - pd.Timedelta(hours=26), T + pd.Timedelta(hours=22)]})
    story = insights.story(summary, INCIDENTS, timeseries)
    assert story[0] == "2 incidents on 2 of 3 series in 48 hours from 2026-11-02 00:09 UTC: 1 critical, 1 minor"
    assert insights.story(summary, INCIDENTS.iloc[:0], timeseries) == [
        "No incidents on the 3 series in 48 hours from 2026-11-02 00:09 UTC."]
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
    compared = tables.show(pd.DataFrame({"error_rate_vs_prod": [-0.0061, 0.0],
                                         "p95_ratio_vs_prod": [0.974, None]})).to_html()
    assert "-0.61 pp" in compared and "+0.00 pp" in compared and "0.97x" in compared and "-0.01" not in compared


def test_sentences_reach_html_escaped():
    assert tables.paragraphs(["<script>x</script> & more"]) == (
        "<p style='font-size:1.1em'>&lt;script&gt;x&lt;/script&gt; &amp; more</p>")


def test_tables_escape_log_text():
    html = tables.show(pd.DataFrame({"endpoint": ["<img src=x onerror=alert(1)>"], "<b>": [1.5]})).to_html()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "<b>" not in html


def test_a_long_table_shows_its_highest_rows_and_says_where_the_rest_are():
    frame = pd.DataFrame({"service": [f"<svc-{i:04d}>" for i in range(1500)], "errors_5xx": range(1500)})
    html = tables.show_top(frame, "/data/<metrics>/summary", "errors_5xx", keep=3).data
    assert "The 3 of 1,500 rows with the highest <code>errors_5xx</code>" in html
    assert "/data/&lt;metrics&gt;/summary" in html and "<metrics>" not in html
    shown = [f"&lt;svc-{i:04d}&gt;" for i in (1499, 1498, 1497)]
    assert all(name in html for name in shown) and html.index(shown[0]) < html.index(shown[2])
    assert "svc-1496" not in html and "svc-0000" not in html
    first = tables.show_top(frame, "x", keep=2).data  # a frame already worst first keeps its order
    assert "The first 2 of 1,500 rows" in first and "svc-0001" in first and "svc-0002" not in first
    named = tables.show_top(frame.rename(columns={"errors_5xx": "a<b"}), "x", "a<b", keep=2).data
    assert "<code>a&lt;b</code>" in named and "a<b" not in named  # a column's name escaped too
    short = tables.show_top(frame.head(3), "x", "errors_5xx").to_html()  # every row fits: no note
    assert "every row is in" not in short and "svc-0002" in short


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


def _traffic():
    rows = [("web", "prod", "status_code", "200", 9125, 2_700_000_000.0, 0, 0),
            ("web", "prod", "status_code", "304", 445, 0.0, 0, 0),
            ("web", "prod", "status_code", "404", 213, 47_282_505.0, 213, 0),
            ("web", "prod", "status_code", "500", 3, 0.0, 0, 3),
            ("web", "prod", "endpoint", "/a", 5000, 1e9, 10, 1), ("web", "prod", "client_ip", "1.2.3.4", 70, 1e6, 0, 0)]
    return pd.DataFrame(rows, columns=["service", "environment", "dimension", "value", "requests", "bytes_sent",
                                       "errors_4xx", "errors_5xx"])


def test_the_traffic_sentence_gives_the_status_mix_bytes_and_4xx_beside_5xx():
    from loganalysis.report import insights
    [sentence] = insights.traffic_sentences(_traffic())
    assert sentence == ("9,786 requests with a status code, 2,747,282,505 bytes served (2.75 GB). "
                        "Status mix: 200: 9,125 (93.25%); 304: 445 (4.55%); 404: 213 (2.18%); 500: 3 (0.03%). "
                        "4xx: 213 (2.18%), 5xx: 3 (0.03%).")
    assert insights.traffic_sentences(_traffic().iloc[4:]) == []  # no status codes, no levels: nothing to say
    assert insights.traffic_sentences(_traffic().iloc[4:], records=70) == []  # a metric series (csv_series) too
    unsized = insights.traffic_sentences(_traffic().assign(bytes_sent=None))[0]  # no record carried a size
    assert unsized.startswith("9,786 requests with a status code. Status mix:") and "bytes" not in unsized
    app = pd.DataFrame([("jobs", "prod", "level", level, n, None, 0, failed) for level, n, failed in
                        [("INFO", 900, 0), ("WARN", 60, 0), ("ERROR", 38, 38), ("FATAL", 2, 2)]],
                       columns=_traffic().columns)
    assert insights.traffic_sentences(app) == [
        "1,000 log lines without a status code. Levels: INFO: 900 (90.00%); WARN: 60 (6.00%); ERROR: 38 (3.80%); "
        "FATAL: 2 (0.20%). "
        "Failures, the lines at a failure level (ERROR, FATAL): 40 (4.00%)."]
    # a system log: most lines say no level, and every share is of all lines
    assert insights.traffic_sentences(app, records=4_000) == [
        "4,000 log lines without a status code. Levels: no level: 3,000 (75.00%); INFO: 900 (22.50%); "
        "WARN: 60 (1.50%); ERROR: 38 (0.95%); FATAL: 2 (0.05%). "
        "Failures, the lines at a failure level (ERROR, FATAL): 40 (1.00%)."]
    levels = insights.traffic_table(app, "level", records=4_000)  # the lines without a level have a row too
    assert levels.set_index("level")["requests"].to_dict() == {"no level": 3_000, "INFO": 900, "WARN": 60,
                                                               "ERROR": 38, "FATAL": 2}
    assert levels["share"].sum() == pytest.approx(1.0) and levels["share"].iloc[0] == pytest.approx(0.75)
    table = insights.traffic_table(_traffic(), "status_code")
    assert table.columns.tolist() == ["status_code", "requests", "share", "bytes_sent"]
    assert table["status_code"].tolist() == ["200", "304", "404", "500"]
    assert insights.traffic_table(_traffic(), "endpoint").columns.tolist()[:3] == ["service", "environment", "endpoint"]


def test_a_metric_the_detector_could_not_watch_gets_a_sentence_with_the_reason():
    from loganalysis.report import insights
    coverage = pd.DataFrame({"metric": ["error_rate", "mean_ms", "p95_ms", "requests"],
                             "buckets": [997, 997, 997, 997], "with_value": [0, 0, 0, 997],
                             "scored": [0, 0, 0, 985]})
    summary = pd.DataFrame({"mean_ms": [None]})
    assert insights.unscored_sentences(coverage, summary) == [
        "Error rate was not scored: none of its 997 buckets had enough requests (min_bucket_requests; p95 also needs 20).",
        "Mean latency was not scored: these records carry no latency.",
        "P95 latency was not scored: these records carry no latency."]
    partly = coverage.assign(with_value=997, scored=[120, 990, 0, 985])
    assert insights.unscored_sentences(partly) == [
        "Error rate was scored in part: only 120 of 997 buckets had enough requests and history.",
        "P95 latency was not scored: no bucket had enough history before it (min_history)."]


def test_an_empty_table_is_a_sentence_not_a_row_of_headers():
    from loganalysis.report import tables
    shown = tables.show(pd.DataFrame({"service": [], "message": []}))
    assert "None in these logs" in shown.data and "<th" not in shown.data


def test_a_record_is_described_by_its_reason_not_its_z():
    """A record far beyond the recent range pages whatever its z: on a series of routine bursts
    its z can be 0.0002, which says nothing to the reader; outputs from before the field keep z."""
    burst = {"metric": "mean_ms", "peak_value": 427_032_000.0, "baseline_at_start": 0.0, "peak_z": 0.0002,
             "record": True}
    assert tables.describe_signal(burst) == ("mean latency 427,032,000 ms against 0.0 ms "
                                             "(far beyond its range of the previous 21 days)")
    older = {key: value for key, value in burst.items() if key != "record"} | {"peak_z": 6.25, "baseline_at_start": 100.0}
    assert tables.describe_signal(older).endswith("(4270320.0x, z 6.2)")


def test_the_index_page_prints_the_story_as_text_before_the_figures(tmp_path):
    table = pd.DataFrame({"figure": ["requests", "incidents detected"], "value": ["1,234", "2"]})
    insights.save_headline(table, str(tmp_path), ["Worst: <script>alert(1)</script> on api/prod.", "2 incidents."])
    headline = json.loads((tmp_path / "headline.json").read_text())
    page = publish.index_page({"run_id": "r", "params_file": "p.yaml", "started": "t", "status": "ok",
                               "stages": [], "headline": headline})
    story = page.index("<p>Worst: &lt;script&gt;alert(1)&lt;/script&gt; on api/prod.</p><p>2 incidents.</p>")
    numbers = page.index('<table class="numbers">')
    assert story < numbers and "<script>alert" not in page
    assert insights.STORY not in page[numbers:]  # prose is not a figure in the table
    assert "<td>1,234</td>" in page[numbers:]


def test_a_metric_series_value_is_named_in_its_own_words_not_as_a_latency():
    """csv_series reads CPU, bytes or counts into the value a log's response time fills: the
    pages say what the profile calls it, with its unit or none, never 'latency ... ms'."""
    from loganalysis.report import insights, tables
    cpu = tables.Measure("CPU", "%")
    signal = {"metric": "mean_ms", "peak_value": 93.25, "baseline_at_start": 41.5, "peak_z": 12.3}
    assert tables.describe_signal(signal, cpu) == "mean CPU 93.2 % against 41.5 % (2.2x, z 12.3)"
    value = tables.Measure("value", "")
    assert tables.describe_signal(signal | {"peak_value": 0.0431}, value) == "mean value 0.0431 against 41.5 (0.001x, z 12.3)"
    assert tables.describe_signal(signal) == "mean latency 93.2 ms against 41.5 ms (2.2x, z 12.3)"
    summary = pd.DataFrame({"service": ["a", "b"], "environment": ["prod", "prod"], "requests": [10, 20],
                            "errors_5xx": [0, 0], "error_rate_5xx": [0.0, 0.0], "p95_ms": [2_500_000.0, 7.0]})
    figures = dict(insights.headline(summary, INCIDENTS.iloc[:0], value).itertuples(index=False))
    assert figures["highest p95 value"] == "a/prod (2,500,000)"
    assert dict(insights.headline(summary, INCIDENTS.iloc[:0]).itertuples(index=False))["highest p95 latency"] == \
        "a/prod (2,500,000 ms)"
    shown = tables.show(summary[["service", "p95_ms"]], value).to_html()
    assert "2,500,000" in shown and " ms" not in shown and "_ms" not in shown and "p95 value" in shown
    assert "p95_ms" in tables.show(summary[["service", "p95_ms"]]).to_html()  # logs keep the column's name
    assert [value.units[m] for m in ("mean_ms", "p95_ms")] == ["value", "value"] and cpu.axis("p95") == "p95 (%)"
