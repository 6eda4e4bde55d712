"""Write the worklist: worklist.csv, worklist.json and an offline worklist.html, and a terminal summary.

The HTML page is one file with its style and a few lines of script inline (no network), sorted most urgent
first, with a card filter and each card's evidence page linked. Patient text is escaped: it stays inert.
"""

from __future__ import annotations

import csv
import html
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from cds_service.cards.catalogue import INDICATOR_RANK
from cds_service.worklist.problems import Problems
from cds_service.worklist.rows import FIELDS, UNREADABLE, Row


@dataclass
class RunFacts:
    """What the summary says about the run besides the rows."""

    now: datetime
    source: str
    files: int = 0
    bytes: int = 0
    candidates: int = 0
    patients_evaluated: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    """Unreadable patients first (someone must look), then critical, warning, info; then by patient."""
    def key(row: Row) -> tuple[int, str, str, str]:
        rank = -1 if row.status == UNREADABLE else INDICATOR_RANK.get(row.indicator, 9)
        return rank, row.card_id, row.name, row.patient_id
    return sorted(rows, key=key)


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            # A cell starting with = + - @ would run as a formula in a spreadsheet: keep patient text inert.
            writer.writerow({k: ("'" + v if v[:1] in "=+-@\t\r" else v) for k, v in row.as_dict().items()})


def write_json(rows: list[Row], problems: Problems, run: RunFacts, path: Path) -> None:
    document: dict[str, Any] = {
        "now": run.now.isoformat(), "source": run.source, "candidates": run.candidates,
        "rows": [row.as_dict() for row in rows], "problems": problems.as_json(),
        "uncertain_types": sorted(problems.uncertain_types),
    }
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))


_STYLE = """body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}th{background:#f4f4f4}
.critical{border-left:6px solid #b00020}.warning{border-left:6px solid #e6a100}.info{border-left:6px solid #2f6fb3}
.unreadable{border-left:6px solid #555;background:#f7f7f7}.problems{color:#7a4b00}small{color:#666}"""
_SCRIPT = """function show(card){for(const r of document.querySelectorAll('tbody tr')){
r.hidden=card!==''&&r.dataset.card!==card}}"""


def _cell(text: str) -> str:
    return f"<td>{html.escape(text)}</td>"


def write_html(rows: list[Row], problems: Problems, run: RunFacts, evidence_base: str, path: Path) -> None:
    cards = sorted({row.card_id for row in rows if row.card_id})
    options = "".join(f'<option value="{html.escape(c)}">{html.escape(c)}</option>' for c in cards)
    body = []
    for row in rows:
        css = "unreadable" if row.status == UNREADABLE else row.indicator
        if row.card_id:
            link = f"{evidence_base.rstrip('/')}/evidence/{row.card_id}"
            card = f'<td><a href="{html.escape(link)}">{html.escape(row.card_id)}</a></td>'
        else:
            card = f"<td>{html.escape(UNREADABLE)}</td>"
        detail = row.summary or row.reason
        body.append(
            f'<tr class="{html.escape(css)}" data-card="{html.escape(row.card_id)}">'
            f"{_cell(row.indicator or '-')}{card}{_cell(row.patient_id)}{_cell(row.name)}{_cell(row.age)}"
            f"{_cell(detail)}{_cell(row.deciding_fact)}{_cell(row.deciding_date)}</tr>"
        )
    problem_items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in problems.lines())
    uncertain = (f"<p class=problems>Data of type {html.escape(', '.join(sorted(problems.uncertain_types)))} "
                 "could not all be read and could not be tied to a patient: every patient was evaluated "
                 "without it.</p>") if problems.uncertain_types else ""
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Anti-NXP2 worklist {html.escape(run.now.date().isoformat())}</title><style>{_STYLE}</style></head><body>
<h1>Anti-NXP2 worklist</h1>
<p><small>As of {html.escape(run.now.isoformat())} from {html.escape(run.source)}: {run.candidates} candidate
patient(s), {len({r.patient_id for r in rows})} listed, {len(rows)} row(s).</small></p>
<label>Card <select onchange="show(this.value)"><option value="">all cards</option>{options}</select></label>
<table><thead><tr><th>Urgency</th><th>Card</th><th>Patient</th><th>Name</th><th>Age</th><th>Summary</th>
<th>Deciding fact</th><th>Date</th></tr></thead><tbody>
{''.join(body)}
</tbody></table>
{uncertain}{f'<h2>Input problems</h2><ul class=problems>{problem_items}</ul>' if problem_items else ''}
<script>{_SCRIPT}</script></body></html>
"""
    path.write_text(page, encoding="utf-8")


def write_all(rows: list[Row], problems: Problems, run: RunFacts, evidence_base: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "worklist.csv", out / "worklist.json", out / "worklist.html"]
    write_csv(rows, paths[0])
    write_json(rows, problems, run, paths[1])
    write_html(rows, problems, run, evidence_base, paths[2])
    return paths


def summary(rows: list[Row], problems: Problems, run: RunFacts) -> list[str]:
    """A few lines for the terminal."""
    due = [r for r in rows if r.status != UNREADABLE]
    unreadable = {r.patient_id for r in rows if r.status == UNREADABLE}
    by_indicator = Counter(r.indicator for r in due)
    by_card = Counter(r.card_id for r in due)
    lines = [
        f"worklist as of {run.now.isoformat()}: {run.files} file(s), {run.bytes / 1e6:.1f} MB, "
        f"{run.candidates} candidate patient(s), {len({r.patient_id for r in due})} with a card due, "
        f"{len(unreadable)} whose data could not be read",
        "cards: " + (", ".join(f"{by_indicator[i]} {i}" for i in INDICATOR_RANK if by_indicator[i]) or "none"),
        *(f"  {count:>6}  {card}" for card, count in by_card.most_common()),
    ]
    if run.timings:
        lines.append("time: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in run.timings.items()))
    if problems.counts:
        lines += ["input problems (counted, the other patients still evaluated):", *problems.lines()]
    if problems.uncertain_types:
        lines.append(f"data of type {', '.join(sorted(problems.uncertain_types))} could not all be read or tied "
                     "to a patient: every patient was evaluated without it")
    return lines
