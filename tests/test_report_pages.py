"""The published run, opened in headless Chromium as a reader would open it: no console
errors, every image decoded, and the script-injection payloads planted in params/ci.yaml shown
as text, never run. Screenshots of every page are saved in the run folder."""

import shutil

import pytest

from loganalysis.ops.page_check import INJECTION_MARKER, check_pages, published_pages

pytestmark = [pytest.mark.pipeline,
              pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")]


@pytest.fixture(scope="module")
def checked(first_run):
    work, _, _ = first_run
    run_dir = work / "reports/first"
    return run_dir, check_pages(run_dir)


def test_every_page_loads_cleanly_with_decoded_images(checked):
    run_dir, reports = checked
    assert [r.page for r in reports] == [p.name for p in published_pages(run_dir)]
    assert len(reports) == 9  # index + 4 stages x (report, with code)
    for report in reports:
        assert report.console_errors == [], report
        assert report.broken_images == 0, report
    assert all(r.images > 0 for r in reports if r.page != "index.html")


def test_injected_markup_is_shown_as_text_and_never_runs(checked):
    run_dir, reports = checked
    assert not any(r.injected for r in reports)
    # the payloads did reach the pages, escaped: as visible text, not as elements
    page = (run_dir / "02_compute_metrics.html").read_text()
    assert "&lt;script&gt;document.title=" in page or "&lt;img src=x onerror" in page
    assert "<script>document.title" not in page and "<img src=x onerror" not in page
    assert INJECTION_MARKER not in (run_dir / "index.html").read_text()


def test_a_screenshot_of_every_page_is_saved(checked):
    run_dir, reports = checked
    shots = sorted(p.name for p in (run_dir / "screenshots").glob("*.png"))
    assert len(shots) == len(reports)
    assert all((run_dir / "screenshots" / name).stat().st_size > 10_000 for name in shots)
