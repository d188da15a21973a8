"""One Jupyter kernel for every stage of a run.

Each stage notebook builds its Spark session with `get_spark`, which returns the session the
process already has. Run in one kernel, the stages therefore share one Spark application: the
JVM, the Python imports and the JIT-warmed first jobs are paid once per run instead of once per
stage (see docs/performance.md for what that saved). Between stages the kernel's namespace is
emptied (`%reset -f`), so a stage sees only its own parameters and what it reads from disk, as
when it runs on its own in JupyterLab or by papermill alone.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from jupyter_client import AsyncKernelManager, BlockingKernelClient
from jupyter_core.utils import run_sync

RESET_TIMEOUT_SECONDS = 120


@contextmanager
def shared_kernel(kernel_name: str, cwd: Path) -> Iterator[AsyncKernelManager]:
    """A started kernel for papermill's `km=` (papermill then leaves it running); shut down at
    the end however the run ends. It listens on Unix sockets in a private folder, not on ports."""
    with tempfile.TemporaryDirectory(prefix="loganalysis-kernel-") as sockets:
        manager = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=f"{sockets}/kernel")
        run_sync(manager.start_kernel)(cwd=str(cwd))
        try:
            yield manager
        finally:
            run_sync(manager.shutdown_kernel)(now=True)


def empty_namespace(manager: AsyncKernelManager) -> None:
    """Forget every name the previous stage defined (modules stay imported, Spark stays up)."""
    client = BlockingKernelClient()
    client.load_connection_info(manager.get_connection_info())
    client.start_channels()
    try:
        client.wait_for_ready(timeout=RESET_TIMEOUT_SECONDS)
        reply = client.execute_interactive("%reset -f", store_history=False, timeout=RESET_TIMEOUT_SECONDS,
                                           output_hook=lambda message: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not empty the kernel's namespace between stages: {reply['content']}")
    finally:
        client.stop_channels()
