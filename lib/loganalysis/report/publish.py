"""Executed notebooks to self-contained HTML, and the run's index page.

Everything a log line can put on a page (messages, endpoints, error text) is escaped: the
notebook renderer escapes text outputs and pandas escapes tables, and the index page escapes
every value it writes with `html.escape`.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from loganalysis.report.insights import STORY

PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .35rem .7rem; text-align: left; }
th { background: #f3f3f3; }
.ok { color: #1a7f37; font-weight: 600; } .failed { color: #c62828; font-weight: 600; }
.skipped { color: #777; } .numbers td:nth-child(2) { text-align: right; }
"""


def render_html(notebook_path: Path, target: Path, with_code: bool) -> Path:
    """Render an executed notebook; without code it reads as a report (inputs hidden)."""
    notebook = nbformat.read(notebook_path, as_version=4)
    template = resources.files("loganalysis.report").joinpath("templates", "report.html.j2")
    exporter = HTMLExporter(template_file=str(template), exclude_input=not with_code,
                            exclude_input_prompt=not with_code, exclude_output_prompt=not with_code)
    body, _ = exporter.from_notebook_node(notebook)
    target.write_text(body, encoding="utf-8")
    return target


def _cell(value) -> str:
    return f"<td>{html.escape(str(value))}</td>"


def index_page(run: dict) -> str:
    """The run's front page: what ran, how it went, the headline numbers, links to each stage."""
    e = html.escape
    rows = []
    for stage in run["stages"]:
        links = ""
        if stage.get("html"):
            links = (f'<a href="{e(stage["html"])}">report</a> · '
                     f'<a href="{e(stage["html_with_code"])}">with code</a> · '
                     f'<a href="{e(stage["notebook"])}">notebook</a>')
        status = stage["status"]
        duration = f"{stage['seconds']:.1f} s" if stage.get("seconds") is not None else ""
        rows.append(f"<tr><td>{e(stage['name'])}</td><td class=\"{e(status)}\">{e(status)}</td>"
                    f"<td>{e(duration)}</td><td>{links}</td></tr>")
    error = ""
    if run.get("error"):
        error = f"<h2>Stopped</h2><pre class=\"failed\">{e(run['error'])}</pre>"
    figures = dict(run.get("headline", {}))
    story = figures.pop(STORY, [])
    # The story reads as paragraphs, one a sentence; the figures stay a table, numbers aligned.
    sentences = "".join(f"<p>{e(str(sentence))}</p>" for sentence in story)
    numbers = "".join(f"<tr>{_cell(k)}{_cell(v)}</tr>" for k, v in figures.items())
    parts = sentences + (f"<table class=\"numbers\">{numbers}</table>" if numbers else "")
    headline = f"<h2>Headline</h2>{parts}" if parts else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log analysis run {e(run['run_id'])}</title><style>{PAGE_STYLE}</style></head>
<body>
<h1>Log analysis run {e(run['run_id'])}</h1>
<p>Parameters <code>{e(run['params_file'])}</code> · started {e(run['started'])} ·
status <span class="{e(run['status'])}">{e(run['status'])}</span> ·
<a href="manifest.json">manifest</a></p>
{error}
<h2>Stages</h2>
<table><tr><th>stage</th><th>status</th><th>duration</th><th>pages</th></tr>
{''.join(rows)}
</table>
{headline}
</body></html>
"""
