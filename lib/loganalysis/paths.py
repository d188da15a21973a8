"""Where each stage's outputs live under a data root (a local folder or any Hadoop URI)."""

from __future__ import annotations

from dataclasses import dataclass


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

    def ground_truth(self, name: str) -> str:
        return self._under("ground_truth", name)

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

    def metrics(self, name: str) -> str:
        return self._under("metrics", name)

    # 03
    @property
    def enriched(self) -> str:
        return self._under("enriched")

    def anomalies(self, name: str) -> str:
        return self._under("anomalies", name)

    # 04
    def insights(self, name: str) -> str:
        return self._under("insights", name)

    @property
    def staging(self) -> str:
        return self._under("_staging")
