"""Charts for the stage notebooks: each takes a small pandas aggregate, returns a figure.

One seaborn style for all of them, titles that say what is shown and axes with units.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

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
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d %H:%M"))
    fig.tight_layout()
    plt.close(fig)  # shown once by the notebook's display, not again by pyplot
    return fig


def lines_over_time(df: pd.DataFrame, x: str, y: str, hue: str, title: str, ylabel: str,
                    xlabel: str = "time (UTC)") -> plt.Figure:
    fig, ax = plt.subplots(figsize=WIDE)
    sns.lineplot(data=df, x=x, y=y, hue=hue, ax=ax, linewidth=1.2)
    ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return _finish(fig, ax, title, xlabel, ylabel)


def incident_timeline(incidents: pd.DataFrame, start, end, title: str) -> plt.Figure:
    """One row per series, a bar per incident spanning its start to end, labelled by kind."""
    fig, ax = plt.subplots(figsize=(12, 0.5 * max(incidents.shape[0], 3) + 1.5))
    if incidents.empty:
        ax.text(0.5, 0.5, "no incidents", ha="center", va="center", transform=ax.transAxes)
    else:
        labels = (incidents["service"] + " / " + incidents["environment"]).tolist()
        kinds = sorted(incidents["kind"].unique())
        colors = dict(zip(kinds, sns.color_palette("Set1", len(kinds))))
        for row, (label, incident) in enumerate(zip(labels, incidents.itertuples())):
            width = (incident.end - incident.start)
            ax.barh(row, width, left=incident.start, color=colors[incident.kind], height=0.6)
            ax.text(incident.end, row, f"  {incident.kind} ×{incident.magnitude:g}", va="center", fontsize=9)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
    ax.set_xlim(start, end)
    return _finish(fig, ax, title, "time (UTC)", "")


def latency_histograms(hist: pd.DataFrame, title: str) -> plt.Figure:
    """`hist`: service, bin_ms (lower edge), share; drawn on a log latency axis."""
    fig, ax = plt.subplots(figsize=WIDE)
    sns.lineplot(data=hist, x="bin_ms", y="share", hue="service", ax=ax, drawstyle="steps-post")
    ax.set_xscale("log")
    ax.legend(title="service", bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return _finish(fig, ax, title, "response time (ms, log scale)", "share of requests")


def series_with_incidents(ts: pd.DataFrame, incidents: pd.DataFrame, y: str, title: str,
                          ylabel: str, facet: str = "service") -> plt.Figure:
    """A metric over time, one panel per service (a line per environment), incidents shaded."""
    panels = sorted(ts[facet].unique())
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 2.6 * len(panels)), sharex=True, squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        sns.lineplot(data=ts[ts[facet] == panel], x="bucket", y=y, hue="environment", ax=ax,
                     linewidth=1.0, legend=ax is axes[0, 0])
        for incident in incidents[incidents[facet] == panel].itertuples():
            ax.axvspan(incident.start, incident.end, color=INCIDENT_COLOR, alpha=0.25, lw=0)
        ax.set_ylabel(ylabel)
        ax.set_title(panel, loc="left", fontsize=11)
    if axes[0, 0].get_legend():
        axes[0, 0].legend(title="environment", bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    fig.suptitle(title + "  (shaded: detected incidents)", x=0.01, ha="left", fontsize=13, fontweight="bold")
    axes[-1, 0].xaxis.set_major_formatter(mdates.DateFormatter("%b %d %H:%M"))
    axes[-1, 0].set_xlabel("time (UTC)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def heatmap(table: pd.DataFrame, title: str, fmt: str, cbar_label: str, xlabel: str, ylabel: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * table.shape[1] + 3), 0.6 * table.shape[0] + 1.8))
    sns.heatmap(table, annot=table.shape[1] <= 12, fmt=fmt, cmap="rocket_r", ax=ax,
                cbar_kws={"label": cbar_label}, linewidths=0.5)
    return _finish(fig, ax, title, xlabel, ylabel)


def bars(df: pd.DataFrame, x: str, y: str, hue: str | None, title: str, xlabel: str, ylabel: str,
         log: bool = False) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(10, 0.35 * df[y].nunique() + 2.2))
    sns.barplot(data=df, x=x, y=y, hue=hue, ax=ax, orient="h")
    if log:
        ax.set_xscale("log")
    if hue:
        ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return _finish(fig, ax, title, xlabel, ylabel)
