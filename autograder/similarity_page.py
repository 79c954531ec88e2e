"""The similarity check's outputs: one self-contained HTML page and a CSV of the ranked pairs.

The page shows the distribution of every pair's score (with the threshold, to judge where it
stands), the ranked pairs, then each pair's answers side by side with the stretches found in
both marked. Everything from a notebook is HTML-escaped; the page has no scripts and loads
nothing (the plot is an embedded PNG).
"""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path

from .similarity import Comparison, Match

MAX_PAIRS_SHOWN = 100  # side by side on the page; the CSV lists every pair above the threshold

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 90rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
td, th { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1rem; }
.pair pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; font-size: .8rem; margin: 0; }
mark { background: #ffd54f; }
img { max-width: 40rem; }
"""


def write_page(comparison: Comparison, path: Path, assignment: str) -> Path:
    """Write the page to ``path``; returns it."""
    compared = [student for student, text in comparison.answers.items() if text.strip()]
    blank = sorted(set(comparison.answers) - set(compared))
    matches = comparison.matches
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{_e(assignment)}: similar answers</title><style>{STYLE}</style></head><body>",
             f"<h1>{_e(assignment)}: similar answers</h1>",
             f"<p>{len(compared)} students' answers compared in {len(comparison.scores)} pairs; "
             f"<strong>{len(matches)} pairs</strong> share at least {comparison.threshold:.0%} of one student's "
             "answers. Only code the students wrote counts (the release's text is removed); names, strings, "
             "comments and the order of functions do not. A high score is a reason to look, not a verdict: "
             "read the marked stretches.</p>"]
    if blank:
        parts.append(f"<p>No answers written (left out): {_e(', '.join(blank))}</p>")
    if comparison.scores:
        parts.append(f"<img alt='histogram of the pairs&#39; scores' src='data:image/png;base64,"
                     f"{_histogram(comparison)}'>")
    if matches:
        parts.append("<table><tr><th>rank</th><th>student A</th><th>student B</th><th>score</th>"
                     "<th>share of A in B</th><th>share of B in A</th></tr>")
        for rank, match in enumerate(matches, 1):
            name = f"<a href='#pair-{rank}'>{rank}</a>" if rank <= MAX_PAIRS_SHOWN else str(rank)
            parts.append(f"<tr><td>{name}</td><td>{_e(match.student_a)}</td><td>{_e(match.student_b)}</td>"
                         f"<td class='number'>{match.score:.0%}</td><td class='number'>{match.share_a:.0%}</td>"
                         f"<td class='number'>{match.share_b:.0%}</td></tr>")
        parts.append("</table>")
        if len(matches) > MAX_PAIRS_SHOWN:
            parts.append(f"<p>The first {MAX_PAIRS_SHOWN} pairs are shown below; the CSV lists all.</p>")
    for rank, match in enumerate(matches[:MAX_PAIRS_SHOWN], 1):
        parts.append(_pair(rank, match, comparison.answers))
    parts.append("</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))
    return path


def write_csv(comparison: Comparison, path: Path) -> Path:
    """One row per pair at or above the threshold, highest score first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "student_a", "student_b", "score", "share_of_a_in_b", "share_of_b_in_a",
                         "matched_tokens"])
        for rank, match in enumerate(comparison.matches, 1):
            writer.writerow([rank, match.student_a, match.student_b, f"{match.score:.3f}", f"{match.share_a:.3f}",
                             f"{match.share_b:.3f}", match.matched])
    return path


def _pair(rank: int, match: Match, answers: dict[str, str]) -> str:
    columns = []
    for student, regions, share in ((match.student_a, match.regions_a, match.share_a),
                                    (match.student_b, match.regions_b, match.share_b)):
        columns.append(f"<div><h3>{_e(student)} ({share:.0%} of it in the other)</h3>"
                       f"<pre><code>{marked(answers[student], regions)}</code></pre></div>")
    return (f"<h2 id='pair-{rank}'>{rank}. {_e(match.student_a)} and {_e(match.student_b)}: {match.score:.0%}</h2>"
            f"<div class='pair'>{''.join(columns)}</div>")


def marked(text: str, regions: list[tuple[int, int]]) -> str:
    """``text`` escaped, each (start, end) region in ``<mark>``."""
    pieces, position = [], 0
    for start, end in sorted(regions):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        pieces += [_e(text[position:start]), "<mark>", _e(text[start:end]), "</mark>"]
        position = end
    pieces.append(_e(text[position:]))
    return "".join(pieces)


def _histogram(comparison: Comparison) -> str:
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 3))
    axes.hist(comparison.scores, bins=[i / 50 for i in range(51)], color="#4a7ab5")
    axes.axvline(comparison.threshold, color="#a11", linestyle="--", label=f"threshold {comparison.threshold:.0%}")
    if len(comparison.scores) > 200:  # copies are a few pairs among thousands: keep them visible
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    axes.set_xlabel("score: share of one student's answers found in the other's")
    axes.set_ylabel("pairs")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _e(text) -> str:
    return html.escape(str(text), quote=True)
