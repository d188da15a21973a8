"""Where each stage's outputs live under a data root (a local folder or any Hadoop URI).

Every output has a name here, as an attribute (`paths.metrics.summary`), so a misspelt output
fails at once instead of reading or writing a folder nobody else knows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


def _group(cls, root: str):
    """An output group with each of its fields set to `root/<field name>`."""
    return cls(**{f.name: f"{root}/{f.name}" for f in fields(cls)})


@dataclass(frozen=True)
class GroundTruth:  # 01: what was injected, or labelled
    incidents: str
    bad_lines: str
    scoring_start: str


@dataclass(frozen=True)
class MetricTables:  # 02
    summary: str
    timeseries: str
    top_error_messages: str
    top_error_endpoints: str
    environment_comparison: str
    message_templates: str  # lines per service, environment and message template
    template_timeline: str  # the same lines per hour
    traffic: str  # requests, bytes, 4xx, 5xx by status code, endpoint, client and level


@dataclass(frozen=True)
class AnomalyTables:  # 03
    scored_series: str
    signals: str
    incidents: str
    record_baseline: str
    explanations: str
    evaluation: str
    truth_matches: str


@dataclass(frozen=True)
class InsightTables:  # 04
    headline: str


@dataclass(frozen=True)
class DataPaths:
    root: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", self.root.rstrip("/"))

    def _under(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    # 01: generated or ingested
    @property
    def raw_logs(self) -> str:
        return self._under("raw_logs")

    @property
    def ground_truth(self) -> GroundTruth:
        return _group(GroundTruth, self._under("ground_truth"))

    @property
    def ingest_quarantine(self) -> str:
        return self._under("ingest_quarantine")

    # 02
    @property
    def clean_logs(self) -> str:
        return self._under("clean_logs")

    @property
    def quarantine(self) -> str:
        return self._under("quarantine")

    @property
    def metrics(self) -> MetricTables:
        return _group(MetricTables, self._under("metrics"))

    # 03
    @property
    def enriched(self) -> str:
        return self._under("enriched")

    @property
    def anomalies(self) -> AnomalyTables:
        return _group(AnomalyTables, self._under("anomalies"))

    # 04
    @property
    def insights(self) -> InsightTables:
        return _group(InsightTables, self._under("insights"))

    @property
    def staging(self) -> str:
        return self._under("_staging")
