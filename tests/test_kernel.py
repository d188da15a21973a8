"""The run's one kernel: stages share the process, never each other's names."""

from jupyter_client import BlockingKernelClient

from loganalysis.ops import kernel


def run_code(manager, code: str) -> dict:
    client = BlockingKernelClient()
    client.load_connection_info(manager.get_connection_info())
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        return client.execute_interactive(code, timeout=60, output_hook=lambda message: None)["content"]
    finally:
        client.stop_channels()


def test_a_stage_does_not_see_the_names_of_the_stage_before(tmp_path):
    with kernel.shared_kernel("python3", tmp_path) as manager:
        assert run_code(manager, "import os; counts = {'clean': 1}")["status"] == "ok"
        assert run_code(manager, "counts")["status"] == "ok"
        kernel.empty_namespace(manager)
        after = run_code(manager, "counts")
        assert after["status"] == "error" and after["ename"] == "NameError"
        assert run_code(manager, "import sys; assert 'os' in sys.modules")["status"] == "ok"  # imports stay
        assert run_code(manager, f"import os; assert os.getcwd() == {str(tmp_path)!r}")["status"] == "ok"
    assert not manager.has_kernel
