"""Batch log intelligence on Spark: generate or ingest logs, compute service metrics,
detect anomalies, and publish the stage notebooks as a report."""

__version__ = "0.1.0"
