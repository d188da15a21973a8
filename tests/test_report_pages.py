"""The published run, opened in headless Chromium as a reader would open it: no console
errors, every image decoded, and the script-injection payloads planted in params/ci.yaml shown
as text, never run. Screenshots of every page are saved in the run folder."""

import html
import re
import shutil

import pandas as pd
import pytest

from loganalysis import stages
from loganalysis.ops.page_check import check_pages, published_pages

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
    # the index quotes the worst incident's explanation, which may quote the payload: as text
    index = (run_dir / "index.html").read_text()
    assert "<script>document.title" not in index and "<img src=x onerror" not in index


def test_a_screenshot_of_every_page_is_saved(checked):
    run_dir, reports = checked
    shots = sorted(p.name for p in (run_dir / "screenshots").glob("*.png"))
    assert len(shots) == len(reports)
    assert all((run_dir / "screenshots" / name).stat().st_size > 10_000 for name in shots)


def test_the_report_opens_with_the_story_and_the_incident_timeline(first_run):
    """Before any table: the sentences saying what happened, then the timeline chart."""
    work, _, _ = first_run
    page = (work / "reports/first/04_aggregate_insights.html").read_text()
    story = re.search(r"<p style=[\"']font-size:1.1em[\"']>", page).start()
    timeline = page.index('<img', story)
    assert story < timeline < page.index("<table")
    assert re.search(r"(\d+ incidents? on \d+ of|No incidents on the) \d+ series in \d+ hours from", page[story:timeline])


def test_every_incident_has_a_card_with_a_zoom_chart(first_run):
    work, _, _ = first_run
    incidents = pd.read_parquet(work / "data/anomalies/incidents")
    page = (work / "reports/first/04_aggregate_insights.html").read_text()
    cards = page[page.index("Incident cards"):]
    assert 0 < len(incidents) <= stages.CARDS  # the CI run: few enough that each gets a card
    for incident in incidents.itertuples():
        heading = html.escape(f"{incident.service} / {incident.environment}: {incident.severity}", quote=True)
        position = cards.index(heading)
        assert cards.find("<img", position) > position  # its zoom chart follows it


def test_no_table_shows_an_index_column_or_long_decimals(first_run):
    work, _, _ = first_run
    for path in published_pages(work / "reports/first"):
        for table in re.findall(r"<table.*?</table>", path.read_text(), flags=re.S):
            assert "row_heading" not in table and not re.search(r"<th[^>]*>\s*</th>", table), path.name
            cells = re.findall(r"<td[^>]*>(.*?)</td>", table, flags=re.S)
            assert not [c for c in cells if re.fullmatch(r"\s*-?[\d,]*\.\d{4,}\s*", c)], (path.name, table[:300])
