"""One run at a time per data root.

Two runs on one data root would swap outputs under each other's feet, so the runner takes a lock
file in the data root before the first stage: `_run.lock`, holding the run id, process id, host
and start time of the run that holds it. The lock itself is the kernel's (`flock`), so it is
released when that process ends, however it ends; the file's text is only there to say who holds
it. A file that still names a run but is not locked is what a killed run leaves behind: the next
run takes it over, with a warning naming the run that died.

Local data roots only: a data root on another filesystem (hdfs://, s3a://) is not locked.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

LOCK_FILE = "_run.lock"


class DataRootBusy(RuntimeError):
    """Another run holds the data root."""


@dataclass
class RunLock:
    path: Path
    holder: dict
    _handle: TextIO

    def release(self) -> None:
        """Empty the file (nobody holds it) and let go of the lock."""
        if self._handle.closed:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.flush()
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def _describe(holder: dict) -> str:
    return (f"run {holder.get('run_id', '?')!r} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"started {holder.get('started', '?')})")


def _holder_in(handle: TextIO) -> dict:
    handle.seek(0)
    text = handle.read().strip()
    try:
        return json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {"run_id": text[:80]}


def acquire(data_root: str | Path, run_id: str, warn: Callable[[str], None] = print) -> RunLock:
    """Take the data root's lock for `run_id`, creating the folder if need be.

    Raises DataRootBusy at once, naming the holder, when another live run holds it.
    """
    root = Path(data_root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")  # never truncates a holder's text before the lock is ours
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder_in(handle)
        handle.close()
        raise DataRootBusy(f"data_root {root} is in use by {_describe(holder)}; wait for it to finish "
                           f"or give this run another data_root") from None
    previous = _holder_in(handle)
    if previous:
        warn(f"warning: taking over the lock of {_describe(previous)} on {root}: that run ended "
             f"without releasing it (killed?)")
    holder = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(holder))
    handle.flush()
    return RunLock(path, holder, handle)


def local_data_root(data_root: str) -> Path | None:
    """The local folder a data root names, or None for another filesystem's URI."""
    if data_root.startswith("file:"):
        return Path("/" + data_root[len("file:"):].lstrip("/"))
    return None if "://" in data_root else Path(data_root)
