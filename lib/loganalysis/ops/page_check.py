"""Open a run's published pages in headless Chromium, as a reader would: every page loads
without console errors, every image decodes, no injected script runs; a screenshot of each
page is saved in the run folder. Needs the dev dependency playwright and a Chromium binary
(Debian's `chromium`); nothing is downloaded.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Set by the payloads planted in params/ci.yaml if their markup were ever executed.
INJECTION_MARKER = "PWNED"


@dataclass
class PageReport:
    page: str
    console_errors: list[str] = field(default_factory=list)
    images: int = 0
    broken_images: int = 0
    injected: bool = False
    screenshot: str = ""

    @property
    def ok(self) -> bool:
        return not self.console_errors and self.broken_images == 0 and not self.injected


def published_pages(run_dir: Path) -> list[Path]:
    """index.html first, then every stage page (with and without code) in run order."""
    return [run_dir / "index.html", *sorted(p for p in run_dir.glob("*.html") if p.name != "index.html")]


def check_pages(run_dir: Path, width: int = 1366, height: int = 900) -> list[PageReport]:
    """Load each page at a laptop-sized viewport and report what a reader's browser saw."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("no chromium on PATH: apt-get install -y chromium")
    shots = run_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    reports = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for path in published_pages(run_dir):
                report = PageReport(page=path.name)
                page = browser.new_page(viewport={"width": width, "height": height})
                page.on("console", lambda m, r=report: r.console_errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e, r=report: r.console_errors.append(str(e)))
                page.goto(path.resolve().as_uri(), wait_until="load")
                sizes = page.eval_on_selector_all("img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
                report.images, report.broken_images = len(sizes), sum(1 for w in sizes if w <= 0)
                report.injected = (INJECTION_MARKER in page.title()
                                   or page.evaluate("document.querySelectorAll('img[src=\"x\"], body script').length") > 0)
                report.screenshot = str(shots / f"{path.stem}.png")
                page.screenshot(path=report.screenshot, full_page=True)
                page.close()
                reports.append(report)
        finally:
            browser.close()
    return reports
