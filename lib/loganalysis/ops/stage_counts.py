"""Row counts a stage reports to its run (rows in, out, quarantined), kept for the manifest."""

from __future__ import annotations

import json
from pathlib import Path


def record(run_dir: str, stage: str, **counts: int) -> None:
    """Save this stage's counts in the run folder; a no-op outside a runner (run_dir empty)."""
    if not run_dir:
        return
    folder = Path(run_dir) / "stage_counts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stage}.json").write_text(json.dumps({k: int(v) for k, v in counts.items()}, indent=2))


def read(run_dir: Path, stage: str) -> dict:
    path = Path(run_dir) / "stage_counts" / f"{stage}.json"
    return json.loads(path.read_text()) if path.exists() else {}
