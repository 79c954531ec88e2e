"""Feedback pages, written by the grader from its verdicts.

A student's page is one self-contained HTML file: the score, a table of the graded parts (each
with its section of the notebook, its points and, when it failed, the message its check gives),
then the notebook as the student's kernel ran it. Nothing of the hidden checks can be in it:
they never ran in that notebook, and their output went nowhere.

Everything that came from the student is escaped or re-encoded: markdown is rendered with raw
HTML disabled, code and text outputs are escaped, images are re-checked base64 PNG or JPEG, and
HTML, JavaScript and SVG outputs are left out. A test cell shows its visible source and the
grader's verdict instead of what it printed.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt

from .verdicts import Verdict

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
IMAGE_SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
MAX_IMAGE_BYTES = 2 * 2**20
MAX_TEXT_CHARS = 20_000
_markdown = MarkdownIt("commonmark", {"html": False})

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
td, th { border: 1px solid #ccc; padding: .35rem .5rem; text-align: left; vertical-align: top; }
.passed { color: #17692c; } .failed { color: #a11; }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
.cell { margin: 1rem 0; } .output pre { background: #fff; border-left: 3px solid #ddd; }
.verdict { border-left: 4px solid; padding: .25rem .75rem; margin: .25rem 0 1rem; }
.verdict.passed { border-color: #17692c; } .verdict.failed { border-color: #a11; }
img { max-width: 100%; }
"""


def part_titles(release: nbformat.NotebookNode) -> dict[str, str]:
    """Each graded part's section: the last markdown heading before its test cell."""
    titles: dict[str, str] = {}
    heading = ""
    for cell in release.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    heading = line.lstrip("#").strip()
                    break
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            titles[meta["grade_id"]] = heading
    return titles


def write(path: Path, *, assignment: str, student: str, executed: nbformat.NotebookNode | None,
          verdicts: dict[str, Verdict], scores: dict[str, tuple[float, float]], titles: dict[str, str],
          total: tuple[float, float], late_factor: float, error: str | None) -> Path:
    """Write one student's feedback page to ``path``."""
    score, maximum = total
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{_e(assignment)}: feedback for {_e(student)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{_e(assignment)}: feedback for {_e(student)}</h1>",
             f"<p><strong>Score: {score:g} / {maximum:g}</strong>"
             + (f" (submitted late: {score * late_factor:g} after the penalty)" if late_factor < 1 else "") + "</p>"]
    if error:
        parts.append(f"<p class='failed'>Your notebook could not be graded: {_e(error)}</p>")
    parts.append("<table><tr><th>part</th><th>section</th><th>points</th><th>result</th></tr>")
    for part, (earned, points) in scores.items():
        verdict = verdicts.get(part)
        status = "passed" if verdict and verdict.passed else "failed"
        why = "passed" if status == "passed" else (verdict.message if verdict else "not graded")
        parts.append(f"<tr><td>{_e(part)}</td><td>{_e(titles.get(part, ''))}</td><td>{earned:g} / {points:g}</td>"
                     f"<td class='{status}'>{_e(why)}</td></tr>")
    parts.append("</table>")
    if executed is not None:
        parts.append("<h2>Your notebook, as the grader ran it</h2>")
        parts.extend(_cell(cell, verdicts, scores) for cell in executed.cells)
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))
    return path


def _cell(cell, verdicts: dict[str, Verdict], scores: dict[str, tuple[float, float]]) -> str:
    if cell.cell_type == "markdown":
        return f"<div class='cell markdown'>{_markdown.render(cell.source[:MAX_TEXT_CHARS])}</div>"
    if cell.cell_type != "code":
        return ""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    shown = [f"<div class='cell code'><pre><code>{_e(cell.source[:MAX_TEXT_CHARS])}</code></pre>"]
    part = meta.get("grade_id")
    if meta.get("grade") and not meta.get("solution") and part in scores:
        verdict = verdicts.get(part)
        status = "passed" if verdict and verdict.passed else "failed"
        earned, points = scores[part]
        message = "" if status == "passed" else f": {_e(verdict.message if verdict else 'not graded')}"
        shown.append(f"<div class='verdict {status}'>{_e(part)}: {earned:g} / {points:g}{message}</div>")
    else:
        shown.extend(_output(output) for output in cell.get("outputs", []))
    shown.append("</div>")
    return "\n".join(shown)


def _output(output) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return _text(output.get("text", ""))
    if kind == "error":
        return _text(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    if kind in ("display_data", "execute_result"):
        data = output.get("data", {})
        for mime, signature in IMAGE_SIGNATURES.items():
            image = _image(data.get(mime), signature)
            if image:
                return f"<div class='output'><img alt='figure' src='data:{mime};base64,{image}'></div>"
        if "text/plain" in data:
            return _text(data["text/plain"])
    return ""


def _image(encoded, signature: bytes) -> str | None:
    if not isinstance(encoded, str) or len(encoded) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return None
    try:
        raw = base64.b64decode(encoded.replace("\n", ""), validate=True)
    except ValueError:
        return None
    return base64.b64encode(raw).decode() if raw.startswith(signature) else None


def _text(text) -> str:
    text = "".join(text) if isinstance(text, list) else str(text)
    return f"<div class='output'><pre>{_e(ANSI_ESCAPE.sub('', text)[:MAX_TEXT_CHARS])}</pre></div>"


def _e(text) -> str:
    return html.escape(str(text), quote=True)
