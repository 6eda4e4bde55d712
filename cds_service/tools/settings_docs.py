"""Render the settings documentation (README table, deploy/.env.example) from `config.documented_settings()`.

`make docs` rewrites both files; tests/test_settings_docs.py fails when either is out of date.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from cds_service.config import PROJECT_ROOT, documented_groups

README = PROJECT_ROOT / "README.md"
ENV_EXAMPLE = PROJECT_ROOT / "deploy" / ".env.example"
START = "<!-- settings table: generated from cds_service/config/ by `make docs` -->"
END = "<!-- end of settings table -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """Return one Markdown table per group of `CDS_*` variables: name, default, meaning."""
    lines: list[str] = []
    for title, rows in documented_groups():
        lines += [f"**{title}**", "", "| Variable | Default | Meaning |", "| --- | --- | --- |"]
        for name, default, doc in rows:
            shown = f"`{_cell(default)}`" if default else "(empty)"
            lines.append(f"| `{name}` | {shown} | {_cell(doc)} |")
        lines.append("")
    return "\n".join(lines)


def env_example() -> str:
    """Return deploy/.env.example: every variable, commented out at its default, with its meaning."""
    out = [
        "# Every CDS_* variable nxp2-cds reads, at its default. Uncomment and change what you need; a malformed",
        "# or unknown CDS_* variable stops start-up with a message naming it. Default folders are inside the",
        "# checkout; a relative path you set is read from the working directory.",
        "# Generated from the doc strings in cds_service/config/ by `make docs`: edit those, not this file.",
    ]
    for title, rows in documented_groups():
        out += ["", f"# ===== {title} ====="]
        for name, default, doc in rows:
            out.append("")
            out.extend(textwrap.wrap(doc, width=110, initial_indent="# ", subsequent_indent="# "))
            out.append(f"# {name}={default}")
    return "\n".join(out) + "\n"


def splice(readme: str, table: str) -> str:
    """Return `readme` with the text between the settings markers replaced by `table`."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"README has no settings markers ({START} ... {END})")
    return f"{head}{START}\n{table}{END}{tail}"


def write(readme: Path = README, env_file: Path = ENV_EXAMPLE) -> list[Path]:
    """Regenerate the README table and .env.example; return the files that changed."""
    changed = []
    for path, text in ((readme, splice(readme.read_text(encoding="utf-8"), settings_table())),
                       (env_file, env_example())):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
