"""Charts for the stage notebooks: each takes a small pandas aggregate, returns a figure.

One seaborn style for all of them, titles that say what is shown and axes with units.
"""

from __future__ import annotations

import textwrap
from typing import Callable

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

from loganalysis.report import insights
from loganalysis.report.tables import LATENCY, Measure

sns.set_theme(style="whitegrid", context="notebook", palette="tab10")
# Labels come from the logs (service names, endpoints, error messages): a '$' in them must stay a
# dollar sign, never start math text, which garbles the label or fails the drawing ("$\foo{$").
plt.rcParams["text.parse_math"] = False
plt.rcParams["text.usetex"] = False
WIDE = (12, 4.5)
INCIDENT_COLOR = "#d62728"


def _finish(fig: plt.Figure, ax: plt.Axes, title: str, xlabel: str, ylabel: str) -> plt.Figure:
    ax.set_title(title, loc="left", fontsize=13, fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if isinstance(ax.xaxis.get_major_formatter(), mdates.AutoDateFormatter):
        _concise_dates(ax)
    if ax.get_yscale() == "linear" and isinstance(ax.yaxis.get_major_formatter(), mticker.ScalarFormatter):
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
    fig.tight_layout()
    plt.close(fig)  # shown once by the notebook's display, not again by pyplot
    return fig


def _thousands(value: float, _position=None) -> str:
    """Tick labels as the tables print numbers: 35,000, not 35000 (small ones as they are)."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _concise_dates(ax: plt.Axes) -> None:
    """Date ticks that fit any range, from minutes to years: a few ticks, each labelled only
    with what changed since the last one (hours within a day, days within a month...)."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _finish_panels(fig: plt.Figure, axes) -> plt.Figure:
    """`_finish` for panels stacked over one shared time axis."""
    _concise_dates(axes[-1, 0])
    axes[-1, 0].set_xlabel("time (UTC)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def _legend_once(ax: plt.Axes, title: str | None = None) -> None:
    """A legend outside the axes with each label once: every bar or span drawn adds its label again."""
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles))
    ax.legend(unique.values(), unique.keys(), title=title, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)


MAX_LINES = 8  # lines one chart tells apart; the rest are summed into one "other" line


def lines_over_time(df: pd.DataFrame, x: str, y: str, hue: str, title: str, ylabel: str,
                    xlabel: str = "time (UTC)") -> plt.Figure:
    """A line per `hue` value of a count `y` over time `x`: the MAX_LINES largest by total `y`,
    the rest summed as one line."""
    fig, ax = plt.subplots(figsize=WIDE)
    shown = top_and_other(df, x, y, hue, MAX_LINES)
    order = list(shown.groupby(hue, sort=False)[y].sum().index)  # largest first, "other" last
    # Counts: a time without a row had none, so each line goes through 0 there instead of across
    # the gap (and a template seen in one hour is a spike, not a lone point no line is drawn to).
    grid = shown.pivot_table(index=x, columns=hue, values=y, aggfunc="sum", fill_value=0)
    shown = (grid.reindex(_every_step(grid.index), fill_value=0)
             .reset_index().melt(id_vars=x, var_name=hue, value_name=y))
    sns.lineplot(data=shown, x=x, y=y, hue=hue, hue_order=order, ax=ax, linewidth=1.2,
                 palette=sns.color_palette("colorblind", len(order)))
    ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    # Counts from 0 (a steady series must not look like a swing between 9,998 and 9,999), with
    # room above the highest, so a flat line does not hide under the frame.
    highest = shown[y].max()
    ax.set_ylim(0, highest * 1.08 if highest > 0 else 1)
    return _finish(fig, ax, title, xlabel, ylabel)


def _every_step(times: pd.Index) -> pd.Index:
    """Evenly spaced `times` (hours, buckets) with the steps no row has filled in; other times
    as they are."""
    if not isinstance(times, pd.DatetimeIndex) or len(times) < 3:
        return times
    full = pd.date_range(times[0], times[-1], freq=pd.Series(times).diff().min(), name=times.name)
    return full if len(full) <= 10 * len(times) and full.isin(times).sum() == len(times) else times


def top_and_other(df: pd.DataFrame, x: str, y: str, hue: str, keep: int) -> pd.DataFrame:
    """`df` with only the `keep` largest `hue` values by total `y`; the others summed per `x`
    under one label that says how many they are."""
    totals = df.groupby(hue)[y].sum().sort_values(ascending=False, kind="stable")
    if len(totals) <= keep:
        return df.sort_values(hue, key=lambda names: names.map(list(totals.index).index), kind="stable")
    rest = df[~df[hue].isin(totals.index[:keep])]
    other = rest.groupby(x, as_index=False)[y].sum().assign(**{hue: f"other {len(totals) - keep} {hue}s"})
    kept = df[df[hue].isin(totals.index[:keep])][[x, y, hue]]
    kept = kept.sort_values(hue, key=lambda names: names.map(list(totals.index).index), kind="stable")
    return pd.concat([kept, other], ignore_index=True)


def template_lines(timeline: pd.DataFrame) -> plt.Figure:
    """Lines per hour of the most frequent message templates (the rest as one line): when each
    kind of line started, stopped or surged. `timeline`: template, hour, lines."""
    labelled = insights.shortened(timeline, "template", 60)
    return lines_over_time(labelled.groupby(["template", "hour"], as_index=False)["lines"].sum(),
                           "hour", "lines", "template", "Log lines per hour by message template", "lines per hour")


# Of the time axis, what one character of a bar's label takes (9 pt on the 12-inch chart, its
# legend beside it): a label needs this times its length before the next bar on its row.
# Measured on the rendered charts: 0.0066-0.0076 beside the severity legend (page 04), 0.0078-0.0088
# beside the wider kind legend (page 01); more drops labels the page needs (the worst incident's).
LABEL_CHAR_SHARE = 0.0082


def incident_timeline(incidents: pd.DataFrame, start, end, title: str, color_by: str = "kind",
                      label: str = "magnitude") -> plt.Figure:
    """One row per series, a bar per incident from its start to its end, coloured by `color_by`
    (colour-blind safe) and labelled with it and `label`. Short incidents keep a visible width."""
    series = (incidents["service"] + " / " + incidents["environment"]) if not incidents.empty else pd.Series(dtype=str)
    rows = {name: row for row, name in enumerate(dict.fromkeys(series))}
    fig, ax = plt.subplots(figsize=(12, 0.45 * max(len(rows), 3) + 1.6))
    if incidents.empty:
        ax.text(0.5, 0.5, "no incidents", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])  # no rows: a 0-1 scale would read as data
    else:
        groups = sorted(incidents[color_by].astype(str).unique())
        colors = dict(zip(groups, sns.color_palette("colorblind", len(groups))))
        span = pd.Timestamp(end) - pd.Timestamp(start)
        least = span / 300  # a bar never thinner than this
        in_time = incidents.assign(timeline_row=series.to_numpy()).sort_values("start", kind="stable")
        next_start = in_time.groupby("timeline_row")["start"].shift(-1)
        taken = {}  # per row: where its last bar or label drawn ends; labels never overprint
        for incident, following in zip(in_time.itertuples(), next_start):
            name, group = incident.timeline_row, str(getattr(incident, color_by))
            ax.barh(rows[name], max(incident.end - incident.start, least), left=incident.start,
                    color=colors[group], height=0.6, label=group)
            text = f"{group} {_short(getattr(incident, label))}"
            room = span * LABEL_CHAR_SHARE * (len(text) + 2)
            free_from = taken.get(name, incident.start - room)  # a row's first label is free
            if pd.Timestamp(end) - incident.end < room:  # no room on the right: the label goes left of the bar
                if incident.start - room >= free_from:
                    ax.text(incident.start, rows[name], text + "  ", va="center", ha="right", fontsize=9)
            elif pd.isna(following) or following - incident.end > room:
                ax.text(incident.end, rows[name], "  " + text, va="center", fontsize=9)
                free_from = incident.end + room
            taken[name] = max(free_from, incident.end)
        _legend_once(ax, title=color_by)
        ax.set_yticks(list(rows.values()), list(rows))
        ax.invert_yaxis()
    ax.set_xlim(start, end)
    return _finish(fig, ax, title, "time (UTC)", "")


def _short(value) -> str:
    return f"x{value:g}" if isinstance(value, float) else str(value)


def latency_histograms(hist: pd.DataFrame, title: str, xlabel: str = "latency (ms, log scale)") -> plt.Figure:
    """`hist`: service, bin_ms (lower edge), requests, share; drawn on a log latency axis, one
    line for each of the MAX_LINES busiest services (shares do not add up into an "other")."""
    busiest = hist.groupby("service")["requests"].sum().sort_values(ascending=False, kind="stable")
    if len(busiest) > MAX_LINES:
        title += f" (the {MAX_LINES} busiest of {len(busiest)} services)"
    fig, ax = plt.subplots(figsize=WIDE)
    order = list(busiest.index[:MAX_LINES])
    sns.lineplot(data=hist[hist["service"].isin(order)], x="bin_ms", y="share", hue="service", hue_order=order,
                 ax=ax, drawstyle="steps-post", palette=sns.color_palette("colorblind", len(order)))
    ax.set_xscale("log")
    # Plain numbers: the log axis' default labels are math text, which labels from the logs
    # must not be (text.parse_math is off), so they printed as "$\mathdefault{10^{2}}$".
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.legend(title="service", bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return _finish(fig, ax, title, xlabel, "share of requests")


MAX_PANELS = 8      # small multiples drawn; the rest are named in the title
TITLE_CHARACTERS = 95  # of a 13 pt bold title on a 12-inch figure: wide capitals and all, within its width
MAX_POINTS = 360    # points per line: finer than this is a hairball at report width


def series_with_incidents(ts: pd.DataFrame, incidents: pd.DataFrame, y: str, title: str,
                          ylabel: str, facet: str = "service") -> plt.Figure:
    """A metric over time, one panel per service (a line per environment), incidents shaded.

    Readable at any number of series and any length: the panels are the services with the worst
    incidents, then the busiest, at most MAX_PANELS (the others are named); each line is the
    highest value per step of at most MAX_POINTS steps (an incident's peak survives the step);
    every incident stays at least one step wide."""
    panels = _panels(ts, incidents, facet)
    drawn = ts[ts[facet].isin(panels)]
    shared = _share_time_axis(drawn, facet)
    environments = sorted(drawn["environment"].unique())
    colors = dict(zip(environments, sns.color_palette("colorblind", len(environments))))
    fig, axes = plt.subplots(max(len(panels), 1), 1, figsize=(12, 2.4 * max(len(panels), 1)), sharex=shared,
                             squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        rows = drawn[drawn[facet] == panel]
        step = _step(drawn if shared else rows)
        coarse = (rows.assign(bucket=rows["bucket"].dt.floor(step))
                  .groupby(["environment", "bucket"], as_index=False)[y].max())
        for environment, line in coarse.groupby("environment"):
            ax.plot(line["bucket"], line[y], color=colors[environment], linewidth=1.0, label=environment)
        for incident in (incidents[incidents[facet] == panel] if not incidents.empty else incidents).itertuples():
            ax.axvspan(incident.start, max(incident.end, incident.start + step), color=INCIDENT_COLOR, alpha=0.3, lw=0)
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))  # 3,000,000, not 3 and "1e6" apart
        ax.set_title(panel, loc="left", fontsize=11)
        if not shared:
            _concise_dates(ax)
    axes[0, 0].legend(title="environment", bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    rest = sorted(set(ts[facet]) - set(panels))
    note = f"; not drawn: {', '.join(rest[:10])}{' ...' if len(rest) > 10 else ''}" if rest else ""
    resolution = f"highest per {_duration(_step(drawn))}" if shared else f"highest of {MAX_POINTS} steps per panel"
    # Wrapped to the figure's width: a title wider than the figure widens the saved image, and
    # the page then shrinks every panel to fit it.
    fig.suptitle(textwrap.fill(f"{title}  ({resolution}; shaded: incidents{note})", TITLE_CHARACTERS), x=0.01,
                 ha="left", fontsize=13, fontweight="bold")
    return _finish_panels(fig, axes) if shared else _finish_separate_panels(fig)


def _step(ts: pd.DataFrame) -> pd.Timedelta:
    """The width of one of MAX_POINTS steps over the rows' time range."""
    if ts.empty:
        return pd.Timedelta(minutes=1)
    return max((ts["bucket"].max() - ts["bucket"].min()) / MAX_POINTS, pd.Timedelta(seconds=1))


def _share_time_axis(ts: pd.DataFrame, facet: str) -> bool:
    """Panels share one time axis when their time ranges mostly overlap (one system's services);
    series recorded at different times (labelled benchmark files) each get their own."""
    if ts.empty:
        return True
    ranges = ts.groupby(facet)["bucket"].agg(["min", "max"])
    common = ranges["max"].min() - ranges["min"].max()
    return common >= (ranges["max"].max() - ranges["min"].min()) / 2


def _finish_separate_panels(fig: plt.Figure) -> plt.Figure:
    fig.tight_layout()
    plt.close(fig)
    return fig


def _panels(ts: pd.DataFrame, incidents: pd.DataFrame, facet: str) -> list:
    """The services with the worst incidents first, then the busiest, at most MAX_PANELS."""
    worst = []
    if not incidents.empty:
        severity = incidents.get("severity", pd.Series("", index=incidents.index))
        ranked = incidents.assign(rank=severity.map({"critical": 0, "major": 1, "minor": 2}).fillna(3),
                                  size=-incidents.get("peak_z", pd.Series(0.0, index=incidents.index)).abs()
                                  ).sort_values(["rank", "size"])
        worst = list(dict.fromkeys(ranked[facet]))
    busiest = list(ts.groupby(facet)["requests"].sum().sort_values(ascending=False).index) if "requests" in ts else []
    return list(dict.fromkeys([*worst, *busiest, *sorted(ts[facet].unique())]))[:MAX_PANELS]


def _duration(step: pd.Timedelta) -> str:
    minutes = step.total_seconds() / 60
    return f"{minutes / 60:.0f} h" if minutes >= 120 else f"{minutes:.0f} min" if minutes >= 1 else f"{step.total_seconds():.0f} s"


def heatmap(table: pd.DataFrame, title: str, fmt: str, cbar_label: str, xlabel: str, ylabel: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * table.shape[1] + 3), 0.6 * table.shape[0] + 1.8))
    sns.heatmap(table, annot=table.shape[1] <= 12, fmt=fmt, cmap="rocket_r", ax=ax,
                cbar_kws={"label": cbar_label}, linewidths=0.5)
    return _finish(fig, ax, title, xlabel, ylabel)


MAX_HEATMAP_ROWS = 15  # rows a heatmap (or services a grouped bar chart) labels legibly
MAX_BARS = 25          # bars one chart labels legibly


def highest_rows(table: pd.DataFrame, noun: str, keep: int = MAX_HEATMAP_ROWS) -> tuple[pd.DataFrame, str]:
    """The `keep` rows of `table` with the highest value in any column, highest first, and what
    the title adds to say so ("" when every row fits): a chart of 1,500 services draws nothing
    anyone can read, and takes longer than the run's detection to draw."""
    if len(table) <= keep:
        return table, ""
    highest = table.max(axis=1).sort_values(ascending=False, kind="stable").index[:keep]
    return table.loc[highest], f" (the {keep} highest of {len(table)} {noun})"


def error_rates_by_series(summary: pd.DataFrame) -> plt.Figure:
    """The 5xx rate of each service (rows) in each environment (columns), the rows with the
    highest rate first when there are more than MAX_HEATMAP_ROWS."""
    table, note = highest_rows(summary.pivot(index="service", columns="environment", values="error_rate_5xx") * 100,
                               "services")
    return heatmap(table, "5xx error rate by service and environment" + note, ".2f", "5xx rate (%)",
                   "environment", "service")


def bars(df: pd.DataFrame, x: str, y: str, hue: str | None, title: str, xlabel: str, ylabel: str,
         log: bool = False) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(10, 0.35 * df[y].nunique() + 2.2))
    sns.barplot(data=df, x=x, y=y, hue=hue, ax=ax, orient="h")
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(_thousands))  # plain numbers, not math text
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    if hue:
        ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return _finish(fig, ax, title, xlabel, ylabel)


def incident_zoom(scored: pd.DataFrame, incident, truth: pd.DataFrame, measure: Measure = LATENCY) -> plt.Figure:
    """What the detector saw for one incident: for each signal that moved, the value per bucket,
    its baseline and the band it had to leave (baseline ± threshold × spread), the flagged
    buckets, the incident shaded and, when known, the true window outlined."""
    metrics = list(incident.metrics)
    fig, axes = plt.subplots(len(metrics), 1, figsize=(12, 2.3 * len(metrics) + 0.6), sharex=True, squeeze=False)
    rows = scored[scored["incident_id"] == incident.incident_id].sort_values("bucket")
    first, last = (rows["bucket"].min(), rows["bucket"].max()) if len(rows) else (incident.start, incident.end)
    truth_here = (truth[(truth["service"] == incident.service) & (truth["environment"] == incident.environment)
                        & (truth["end"] > first) & (truth["start"] < last)] if not truth.empty else truth)
    for ax, metric in zip(axes[:, 0], metrics):
        line = rows[rows["metric"] == metric]
        # every scored metric is a count, a share or a duration: the band stops at zero
        ax.fill_between(line["bucket"], line["lower"].clip(lower=0), line["upper"], color="#999999", alpha=0.25,
                        lw=0, label="normal band")
        ax.plot(line["bucket"], line["baseline"], color="#555555", linestyle="--", linewidth=1, label="baseline")
        ax.plot(line["bucket"], line["value"], color=sns.color_palette("colorblind")[0], linewidth=1.3, label="value")
        flagged = line[line["flagged"].fillna(False)]
        ax.scatter(flagged["bucket"], flagged["value"], color=INCIDENT_COLOR, s=12, zorder=3, label="flagged")
        ax.axvspan(incident.start, incident.end, color=INCIDENT_COLOR, alpha=0.12, lw=0, label="incident")
        for window in truth_here.itertuples():
            ax.axvspan(window.start, window.end, fill=False, edgecolor="black", linestyle=":", lw=1.2,
                       label="true window")
        ax.set_ylabel(measure.units.get(metric, metric))
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))  # 4,000,000, not 4 and "1e6" apart
        ax.set_title(measure.metric_name(metric), loc="left", fontsize=10)
        ax.set_xlim(first, last)
    _legend_once(axes[0, 0])
    fig.suptitle(f"{incident.service} / {incident.environment}: {incident.severity}, from "
                 f"{pd.Timestamp(incident.start):%b %d %H:%M} UTC", x=0.01, ha="left", fontsize=12, fontweight="bold")
    return _finish_panels(fig, axes)


# ---- the report's overview charts, by name ------------------------------------------------------
# Each draws from the report's tables (stages.ReportTables: summary, timeseries, incidents,
# latency_histogram, top_error_messages). Notebook 04 draws the ones its `charts` parameter names,
# in that order, and the parameter check takes its allow-list from this table: a new chart is one
# function and one entry.

def incidents_by_service_chart(report) -> plt.Figure:
    """Every incident on its series' row, coloured by severity, labelled with the signal that
    peaked furthest from its baseline."""
    incidents = report.incidents
    if not incidents.empty:
        incidents = incidents.assign(peak_signal=incidents["peak_metric"].map(report.measure.metric_name))
    return incident_timeline(incidents, report.timeseries["bucket"].min(), report.timeseries["bucket"].max(),
                             "Incidents by service (colour: severity)", color_by="severity", label="peak_signal")


def no_values(report, title: str) -> plt.Figure | None:
    """`nothing_to_draw` for a chart of the value when no record carries one (an application or
    system log without durations): empty panels dated 1970 read as broken."""
    if report.summary["p95_ms"].notna().any():
        return None
    return nothing_to_draw(title, f"No record carries a {report.measure.name}: nothing to draw.")


def p95_latency_chart(report) -> plt.Figure:
    measure = report.measure
    title = f"{measure.metric_name('p95_ms')} per service"
    return no_values(report, title) or series_with_incidents(report.timeseries, report.incidents, "p95_ms", title,
                                                             measure.axis("p95"))


def nothing_to_draw(title: str, sentence: str) -> plt.Figure:
    """A chart's title over the sentence saying why it has nothing to show: an all-zero heatmap
    or an empty bar chart reads as broken."""
    fig, ax = plt.subplots(figsize=(12, 1.2))
    ax.text(0.0, 0.5, sentence, ha="left", va="center", transform=ax.transAxes, fontsize=11)
    ax.set_axis_off()
    ax.set_title(title, loc="left", fontsize=13, fontweight="bold")
    fig.tight_layout()
    plt.close(fig)
    return fig


NO_FAILURES = "No failed requests (5xx, or lines at a failure level) in these records."


def failure_named(report) -> str:
    """What the pages call a failure: a 5xx where every failure is a status code of 500 or more,
    else a failure (a line at a failure level: an sshd `error:` or an application's ERROR is no
    5xx, even in a log whose requests have status codes)."""
    traffic = getattr(report, "traffic", None)
    if traffic is None:
        return "5xx"
    statuses = traffic[traffic["dimension"] == "status_code"]
    server_errors = statuses.loc[pd.to_numeric(statuses["value"], errors="coerce") >= 500, "requests"].sum()
    every_failure_a_5xx = len(statuses) > 0 and server_errors == report.timeseries["errors_5xx"].sum()
    return "5xx" if every_failure_a_5xx else "failure"


def error_rate_by_hour_chart(report) -> plt.Figure:
    failure = failure_named(report)
    title = ("5xx error rate" if failure == "5xx" else "Failure rate") + " by service and hour of day (UTC)"
    if not report.timeseries["errors_5xx"].sum():
        return nothing_to_draw(title, NO_FAILURES)
    table, note = highest_rows(insights.error_rate_by_hour(report.timeseries) * 100, "services")
    return heatmap(table, title + note, ".1f", f"{failure} rate (%)", "hour of day (UTC)", "service")


def requests_per_hour_chart(report) -> plt.Figure:
    return lines_over_time(insights.requests_per_hour(report.timeseries), "hour", "requests", "service",
                           "Requests per hour by service", "requests per hour")


def latency_distribution_chart(report) -> plt.Figure:
    name, unit = report.measure.name, report.measure.unit
    title = f"Distribution of {name} by service (values above 0)"
    return no_values(report, title) or latency_histograms(report.latency_histogram, title,
                                                          f"{name} ({unit + ', ' if unit else ''}log scale)")


def p95_by_environment_chart(report) -> plt.Figure:
    title = f"{report.measure.metric_name('p95_ms')} by service and environment"
    if empty := no_values(report, title):
        return empty
    slowest, note = highest_rows(report.summary.pivot(index="service", columns="environment", values="p95_ms"),
                                 "services")
    shown = report.summary.set_index("service").loc[slowest.index].reset_index()  # slowest first
    values = shown["p95_ms"].dropna()
    # Series of other kinds (CPU %, bytes: csv_series) differ by orders of magnitude: on a linear
    # axis all but the largest bars vanish. A log axis only when every bar can stand on it.
    wide = len(values) > 1 and (values > 0).all() and values.max() > 100 * values.min()
    return bars(shown, "p95_ms", "service", "environment", title + note,
                report.measure.axis("p95") + (" (log scale)" if wide else ""), "service", log=wide)


def top_error_messages_chart(report) -> plt.Figure:
    messages = report.top_error_messages
    title = f"Most frequent kinds of {failure_named(report)} message"
    if messages.empty:
        return nothing_to_draw(title, NO_FAILURES)
    note = ""
    if len(messages) > MAX_BARS:
        note = f" (the {MAX_BARS} most frequent of {len(messages):,})"
        messages = messages.nlargest(MAX_BARS, "occurrences", keep="first")
    return bars(insights.shortened(messages, "message", 70), "occurrences", "message", "service",
                title + note, "occurrences", "")


REPORT_CHARTS: dict[str, Callable[[object], plt.Figure]] = {
    "p95_latency": p95_latency_chart,
    "error_rate_by_hour": error_rate_by_hour_chart,
    "requests_per_hour": requests_per_hour_chart,
    "latency_distribution": latency_distribution_chart,
    "p95_by_environment": p95_by_environment_chart,
    "top_error_messages": top_error_messages_chart,
}
