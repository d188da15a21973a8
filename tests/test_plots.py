"""Charts draw labels taken from the logs as they are (issue #22, case 7)."""

import pandas as pd
import pytest

from loganalysis.report import plots, tables

# Math text would fail to draw this ("Unknown symbol: \foo") and would eat the dollar signs.
HOSTILE = r"upstream $\foo{x$ failed"


def _drawn_texts(fig):
    fig.canvas.draw()  # math text is parsed at draw time: this raises if any label is parsed
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_parse_math"))]


def _charts():
    t = pd.date_range("2026-11-02", periods=3, freq="min")
    series = pd.DataFrame({"bucket": list(t) * 2, "requests": [1, 2, 3, 4, 5, 6],
                           "service": [HOSTILE] * 3 + ["api"] * 3, "environment": "prod"})
    incidents = pd.DataFrame({"service": [HOSTILE], "environment": ["prod"], "kind": ["latency $x$"],
                              "start": [t[0]], "end": [t[1]], "magnitude": [2.0]})
    yield "lines_over_time", plots.lines_over_time(series, "bucket", "requests", "service", "requests", "n")
    yield "bars", plots.bars(pd.DataFrame({"lines": [3, 1], "message": [HOSTILE, "ok"]}),
                             "lines", "message", None, "top messages", "lines", "")
    yield "heatmap", plots.heatmap(pd.DataFrame({"prod": [0.1, 0.2]}, index=[HOSTILE, "api"]),
                                   "rate", ".2f", "%", "environment", "service")
    yield "incident_timeline", plots.incident_timeline(incidents, t[0], t[-1], "incidents")
    yield "series_with_incidents", plots.series_with_incidents(series, incidents, "requests", "requests", "n")


@pytest.mark.parametrize("name,fig", list(_charts()), ids=lambda v: v if isinstance(v, str) else "")
def test_labels_from_the_data_are_drawn_literally(name, fig):
    texts = _drawn_texts(fig)
    assert any(HOSTILE in text for text in texts), (name, texts)
    assert not any(a.get_parse_math() for a in fig.findobj(lambda a: hasattr(a, "get_parse_math"))
                   if a.get_text()), name


def test_an_incident_zoom_has_a_panel_per_signal_with_band_baseline_flags_and_truth():
    t = pd.date_range("2026-11-03 02:00", periods=30, freq="min")
    rows = pd.concat([pd.DataFrame({"incident_id": "i1", "metric": metric, "bucket": t, "value": values,
                                    "baseline": 100.0, "lower": 90.0, "upper": 110.0,
                                    "flagged": [10 <= k < 20 for k in range(30)]})
                      for metric, values in (("mean_ms", [100.0] * 10 + [300.0] * 10 + [100.0] * 10),
                                             ("p95_ms", [100.0] * 10 + [500.0] * 10 + [100.0] * 10))])
    incident = pd.DataFrame({"incident_id": ["i1"], "service": [HOSTILE], "environment": ["prod"],
                             "metrics": [["mean_ms", "p95_ms"]], "severity": ["critical"],
                             "start": [t[10]], "end": [t[20]]}).iloc[0]
    truth = pd.DataFrame({"service": [HOSTILE], "environment": ["prod"], "start": [t[9]], "end": [t[21]]})
    fig = plots.incident_zoom(rows, incident, truth)
    axes = fig.get_axes()
    assert [ax.get_title(loc="left") for ax in axes] == ["mean latency", "p95 latency"]
    assert [ax.get_ylabel() for ax in axes] == ["ms", "ms"]
    cpu = plots.incident_zoom(rows, incident, truth, tables.Measure("CPU", "%")).get_axes()
    assert [(ax.get_title(loc="left"), ax.get_ylabel()) for ax in cpu] == [("mean CPU", "%"), ("p95 CPU", "%")]
    names = [text.get_text() for text in axes[0].get_legend().get_texts()]
    assert names == ["normal band", "baseline", "value", "flagged", "incident", "true window"]
    assert len(axes[1].collections[1].get_offsets()) == 10  # the ten flagged buckets, marked
    assert any(HOSTILE in text for text in _drawn_texts(fig))


def test_every_registered_report_chart_draws_from_the_report_tables():
    """Each chart a report page can name draws from small report tables, labels from the data
    (a hostile service name) drawn literally."""
    from types import SimpleNamespace

    t = pd.date_range("2026-11-02", periods=3, freq="h")
    timeseries = pd.DataFrame({"bucket": list(t) * 2, "service": [HOSTILE] * 3 + ["api"] * 3, "environment": "prod",
                               "requests": [10, 20, 30, 40, 50, 60], "errors_5xx": [0, 1, 0, 2, 0, 0],
                               "p95_ms": [12.0, 30.0, 11.0, 5.0, 6.0, None]})
    summary = pd.DataFrame({"service": [HOSTILE, "api"], "environment": ["prod", "prod"], "p95_ms": [30.0, 6.0]})
    report = SimpleNamespace(
        timeseries=timeseries, summary=summary,
        incidents=pd.DataFrame({"service": [HOSTILE], "environment": ["prod"], "start": [t[0]], "end": [t[1]]}),
        latency_histogram=pd.DataFrame({"service": [HOSTILE, HOSTILE, "api"], "bin_ms": [1.0, 10.0, 1.0],
                                        "requests": [4, 6, 3], "share": [0.4, 0.6, 1.0]}),
        top_error_messages=pd.DataFrame({"service": [HOSTILE], "rank": [1], "message": ["x" * 100],
                                         "occurrences": [3]}), measure=tables.LATENCY)
    for name, draw in plots.REPORT_CHARTS.items():
        texts = _drawn_texts(draw(report))
        assert any(HOSTILE in text for text in texts), (name, texts)
    # A metric series' value (csv_series) is no latency: no chart calls it one or gives it ms.
    report.measure = tables.Measure("value", "")
    for name, draw in plots.REPORT_CHARTS.items():
        texts = " ".join(_drawn_texts(draw(report)))
        assert "latency" not in texts and "(ms" not in texts and "Response time" not in texts, (name, texts)


def test_p95_bars_of_series_orders_of_magnitude_apart_use_a_log_axis():
    from types import SimpleNamespace

    summary = pd.DataFrame({"service": ["bytes", "cpu", "temp"], "environment": "prod",
                            "p95_ms": [26_742_770.0, 0.2, 103.0]})
    report = SimpleNamespace(summary=summary, measure=tables.Measure("value", ""))
    axis = plots.p95_by_environment_chart(report).get_axes()[0]
    assert axis.get_xscale() == "log" and axis.get_xlabel() == "p95 value (log scale)"
    close = SimpleNamespace(summary=summary.assign(p95_ms=[120.0, 80.0, 300.0]), measure=tables.LATENCY)
    assert plots.p95_by_environment_chart(close).get_axes()[0].get_xscale() == "linear"
    below_zero = SimpleNamespace(summary=summary.assign(p95_ms=[26_742_770.0, -3.0, 103.0]), measure=report.measure)
    assert plots.p95_by_environment_chart(below_zero).get_axes()[0].get_xscale() == "linear"  # no bar lost


def test_charts_of_failures_say_so_when_there_are_none():
    """A metric series has no failures: an all-zero heatmap drew one flat colour with a scale
    from -0.075 to 0.1; the chart says why it is empty instead."""
    from types import SimpleNamespace

    t = pd.date_range("2026-11-02", periods=3, freq="h")
    report = SimpleNamespace(
        timeseries=pd.DataFrame({"bucket": t, "service": "cpu", "environment": "prod", "requests": 1, "errors_5xx": 0}),
        top_error_messages=pd.DataFrame(columns=["service", "rank", "message", "occurrences"]))
    for chart in (plots.error_rate_by_hour_chart, plots.top_error_messages_chart):
        assert plots.NO_FAILURES in _drawn_texts(chart(report))


def test_failure_charts_say_5xx_only_where_every_failure_is_one():
    """A system log's failures are lines at a failure level: its charts said '5xx' of sshd's errors;
    so did an application log's whose requests have status codes but whose failures are ERROR lines."""
    from types import SimpleNamespace

    t = pd.date_range("2026-11-02", periods=2, freq="h")
    traffic = {"with": pd.DataFrame({"dimension": ["status_code", "status_code", "level"],
                                     "value": ["200", "503", "ERROR"], "requests": [6, 2, 2]}),
               "without": pd.DataFrame({"dimension": ["level"], "value": ["ERROR"], "requests": [2]}),
               "mixed": pd.DataFrame({"dimension": ["status_code", "level"], "value": ["200", "ERROR"],
                                      "requests": [6, 2]})}
    titles = {}
    for kind, rows in traffic.items():
        report = SimpleNamespace(
            timeseries=pd.DataFrame({"bucket": t, "service": "sshd", "environment": "prod", "requests": 4,
                                     "errors_5xx": 1}),
            top_error_messages=pd.DataFrame({"service": ["sshd"], "rank": [1], "message": ["error: kex"],
                                             "occurrences": [2]}), traffic=rows)
        titles[kind] = [plots.error_rate_by_hour_chart(report).get_axes()[0].get_title(loc="left"),
                        plots.top_error_messages_chart(report).get_axes()[0].get_title(loc="left")]
    failure = ["Failure rate by service and hour of day (UTC)", "Most frequent kinds of failure message"]
    assert titles == {"with": ["5xx error rate by service and hour of day (UTC)", "Most frequent kinds of 5xx message"],
                      "without": failure, "mixed": failure}


def test_charts_of_the_value_say_so_when_no_record_carries_one():
    """A system log has no durations: the p95 panels were empty and dated 1970, the histogram
    an empty frame with warnings printed above it."""
    from types import SimpleNamespace

    t = pd.date_range("2026-11-02", periods=3, freq="h")
    rows = {"bucket": t, "service": "sshd", "environment": "prod", "requests": 5, "errors_5xx": 1, "p95_ms": None}
    report = SimpleNamespace(timeseries=pd.DataFrame(rows), incidents=pd.DataFrame(), measure=tables.LATENCY,
                             summary=pd.DataFrame({"service": ["sshd"], "environment": ["prod"], "p95_ms": [None]}),
                             latency_histogram=pd.DataFrame(columns=["service", "bin_ms", "requests", "share"]))
    for chart in (plots.p95_latency_chart, plots.latency_distribution_chart, plots.p95_by_environment_chart):
        assert "No record carries a latency: nothing to draw." in _drawn_texts(chart(report))


def test_the_incident_overview_labels_each_incident_with_its_signal_in_words():
    from types import SimpleNamespace

    t = pd.date_range("2026-11-02", periods=48, freq="h")
    incidents = pd.DataFrame({"service": ["cpu", "disk"], "environment": "prod", "start": [t[5], t[30]],
                              "end": [t[7], t[31]], "severity": ["critical", "minor"],
                              "peak_metric": ["mean_ms", "requests"]})
    report = SimpleNamespace(incidents=incidents, timeseries=pd.DataFrame({"bucket": t}),
                             measure=tables.Measure("value", ""))
    texts = _drawn_texts(plots.incidents_by_service_chart(report))
    assert "critical mean value" in " ".join(texts) and "minor requests" in " ".join(texts)
    assert not any("mean_ms" in text for text in texts)


def _many_series(count: int, start: str = "2026-11-02", spread_days: int = 0) -> pd.DataFrame:
    frames = []
    for k in range(count):
        t = pd.date_range(pd.Timestamp(start) + pd.Timedelta(days=spread_days * k), periods=600, freq="min")
        frames.append(pd.DataFrame({"bucket": t, "hour": t.floor("h"), "requests": float(k + 1),
                                    "service": f"s{k:02d}", "environment": "prod"}))
    return pd.concat(frames, ignore_index=True)


def test_a_line_chart_of_many_series_draws_the_largest_and_sums_the_rest():
    fig = plots.lines_over_time(_many_series(30), "hour", "requests", "service", "requests", "n")
    names = [text.get_text() for text in fig.get_axes()[0].get_legend().get_texts()]
    assert names == [f"s{k:02d}" for k in range(29, 21, -1)] + ["other 22 services"]
    other = plots.top_and_other(_many_series(30), "hour", "requests", "service", 8)
    assert other[other["service"] == "other 22 services"]["requests"].sum() == sum(range(1, 23)) * 600


def test_panels_of_many_long_named_series_keep_their_title_within_the_figure():
    """The title names the series not drawn; on one line it made the saved image twice as wide
    as the figure, and the page shrank every panel to fit it."""
    series = _many_series(29)
    series["service"] = "Web_Server_Memory_WWW_" + series["service"].str.upper() + "_MMMMMM"
    fig = plots.series_with_incidents(series, pd.DataFrame(), "requests", "mean value per bucket", "n")
    drawn = fig.get_tightbbox()  # in inches: what the page's image holds
    assert drawn.width <= fig.get_size_inches()[0] * 1.02, (drawn.width, fig.get_size_inches())
    assert "Web_Server_Memory_WWW_S00_MMMMMM" in fig._suptitle.get_text().replace("\n", " ")


def test_series_recorded_at_different_times_get_their_own_time_axis():
    together = plots.series_with_incidents(_many_series(3), pd.DataFrame(), "requests", "requests", "n")
    apart = plots.series_with_incidents(_many_series(3, spread_days=200), pd.DataFrame(), "requests", "requests", "n")
    assert len({ax.get_xlim() for ax in together.get_axes()}) == 1
    assert len({ax.get_xlim() for ax in apart.get_axes()}) == 3
    for ax in apart.get_axes():  # each panel spans its own ten hours, not the 400 days of all
        low, high = ax.get_xlim()
        assert high - low < 1


def test_the_error_rate_heatmap_keeps_the_highest_rows_past_its_cap():
    summary = pd.DataFrame({"service": [f"s{k:02d}" for k in range(40)], "environment": "prod",
                            "error_rate_5xx": [k / 1000 for k in range(40)]})
    fig = plots.error_rates_by_series(summary)
    labels = [tick.get_text() for tick in fig.get_axes()[0].get_yticklabels()]
    assert labels == [f"s{k:02d}" for k in range(39, 24, -1)]
    assert "15 highest of 40" in fig.get_axes()[0].get_title(loc="left")


def test_report_charts_of_many_services_draw_what_can_be_read():
    from types import SimpleNamespace
    services = [f"s{k:02d}" for k in range(40)]
    buckets = pd.date_range("2026-11-02", periods=2, freq="h")
    report = SimpleNamespace(
        timeseries=pd.DataFrame([(s, b, 100, k) for k, s in enumerate(services) for b in buckets],
                                columns=["service", "bucket", "requests", "errors_5xx"]),
        summary=pd.DataFrame([(s, e, float(k + (e == "prod"))) for k, s in enumerate(services) for e in ("prod", "dev")],
                             columns=["service", "environment", "p95_ms"]),
        top_error_messages=pd.DataFrame([(s, r, f"{s} failed {r}", 100 * k + r) for k, s in enumerate(services)
                                         for r in (1, 2)], columns=["service", "rank", "message", "occurrences"]),
        measure=tables.LATENCY)
    by_hour = plots.error_rate_by_hour_chart(report).get_axes()[0]
    assert [t.get_text() for t in by_hour.get_yticklabels()] == services[::-1][:15]
    assert "15 highest of 40 services" in by_hour.get_title(loc="left")
    p95 = plots.p95_by_environment_chart(report).get_axes()[0]
    assert [t.get_text() for t in p95.get_yticklabels()] == services[::-1][:15]
    messages = plots.top_error_messages_chart(report).get_axes()[0]
    assert len(messages.get_yticklabels()) == 25 and "25 most frequent of 80" in messages.get_title(loc="left")
    assert messages.get_yticklabels()[0].get_text() == "s39 failed 2"


def test_the_latency_distribution_draws_the_busiest_services_past_its_cap():
    hist = pd.DataFrame({"service": [f"s{k:02d}" for k in range(12) for _ in (0, 1)], "bin_ms": [1.0, 10.0] * 12,
                         "requests": [k for k in range(12) for _ in (0, 1)], "share": 0.5})
    fig = plots.latency_histograms(hist, "latency")
    names = [text.get_text() for text in fig.get_axes()[0].get_legend().get_texts()]
    assert names == [f"s{k:02d}" for k in range(11, 3, -1)]
    assert "8 busiest of 12" in fig.get_axes()[0].get_title(loc="left")
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.get_axes()[0].get_xticklabels() if t.get_text()]
    assert ticks and not any("mathdefault" in t or "$" in t for t in ticks), ticks


def test_timeline_labels_do_not_overprint_the_next_incident_on_their_row():
    t0 = pd.Timestamp("2026-11-02")
    incidents = pd.DataFrame({"service": ["a", "a", "a", "b"], "environment": "prod",
                              "start": [t0 + pd.Timedelta(hours=h) for h in (1, 2, 30, 2)],
                              "end": [t0 + pd.Timedelta(hours=h, minutes=20) for h in (1, 2, 30, 2)],
                              "severity": "major", "peak_metric": ["x1", "x2", "x3", "x4"]})
    fig = plots.incident_timeline(incidents, t0, t0 + pd.Timedelta(hours=48), "t", color_by="severity",
                                  label="peak_metric")
    texts = [t.get_text().strip() for t in fig.get_axes()[0].texts]
    assert sorted(texts) == ["major x2", "major x3", "major x4"]  # x1 would run into x2
    # near the right edge labels go left of their bars: only the first of a close run has room
    t0 = t0.tz_localize("UTC")  # as the stages' timestamps come
    incidents["start"] = [t0 + pd.Timedelta(hours=h) for h in (46, 46.5, 47, 47)]
    incidents["end"] = incidents["start"] + pd.Timedelta(minutes=10)
    fig = plots.incident_timeline(incidents, t0, t0 + pd.Timedelta(hours=48), "t", color_by="severity",
                                  label="peak_metric")
    assert sorted(t.get_text().strip() for t in fig.get_axes()[0].texts) == ["major x1", "major x4"]


def test_time_axes_over_years_keep_few_readable_ticks():
    t = pd.to_datetime(["2011-07-01", "2013-01-01", "2015-09-01"])
    frame = pd.DataFrame({"hour": list(t) * 2, "requests": [1, 2, 3, 4, 5, 6], "service": ["a"] * 3 + ["b"] * 3})
    fig = plots.lines_over_time(frame, "hour", "requests", "service", "requests", "n")
    fig.canvas.draw()
    labels = [tick.get_text() for tick in fig.get_axes()[0].get_xticklabels() if tick.get_text()]
    assert 3 <= len(labels) <= 9 and len(set(labels)) == len(labels), labels


def test_counts_over_time_start_at_zero_so_a_steady_series_looks_steady():
    t = pd.date_range("2026-11-30 08:00", periods=3, freq="h")
    frame = pd.DataFrame({"hour": t, "requests": [9_998, 9_999, 9_998], "service": "cart"})
    fig = plots.lines_over_time(frame, "hour", "requests", "service", "requests", "n")
    fig.canvas.draw()
    axes = fig.get_axes()[0]
    labels = [tick.get_text() for tick in axes.get_yticklabels() if tick.get_text()]
    bottom, top = axes.get_ylim()
    assert bottom == 0 and top > 9_999 * 1.05 and len(set(labels)) == len(labels), labels


def test_a_count_seen_in_one_hour_is_drawn_as_a_spike_through_zero():
    t = pd.date_range("2026-11-30 08:00", periods=3, freq="h")
    frame = pd.DataFrame({"hour": list(t) + [t[1]], "lines": [100, 120, 110, 7],
                          "template": ["served <*>"] * 3 + ["reset order <*>"]})
    axes = plots.lines_over_time(frame, "hour", "lines", "template", "lines", "n").get_axes()[0]
    drawn = [list(line.get_ydata()) for line in axes.get_lines() if line.get_label().startswith("_child")]
    assert drawn == [[100, 120, 110], [0, 7, 0]], drawn  # in the legend's order: largest first


def test_an_hour_no_series_has_a_row_for_is_drawn_as_zero():
    t = pd.to_datetime(["2026-11-30 08:00", "2026-11-30 09:00", "2026-11-30 11:00"])
    frame = pd.DataFrame({"hour": t, "requests": [50, 60, 70], "service": "cart"})
    axes = plots.lines_over_time(frame, "hour", "requests", "service", "requests", "n").get_axes()[0]
    drawn = [list(line.get_ydata()) for line in axes.get_lines() if line.get_label().startswith("_child")]
    assert drawn == [[50, 60, 0, 70]], drawn
