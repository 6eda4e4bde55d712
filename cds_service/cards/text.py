"""Make text that came from a request safe inside markdown and plain-text card fields.

EHRs render `detail` as GitHub-flavoured markdown and some (the public sandbox among them) pass raw HTML
through, so every string that comes from patient data is escaped here before it reaches a card.
"""

from __future__ import annotations

import re

# Every character with a meaning in GFM inline syntax or HTML. Escaping a harmless one costs nothing.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_URL_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*):(//)?")


def _flatten(text: str) -> str:
    """Collapse control characters and line breaks so a value cannot start a new markdown block."""
    return _CONTROL.sub(" ", text).strip()


def escape_markdown(text: str) -> str:
    """Return `text` as literal inline markdown: no HTML, no links, no emphasis, no code, one line.

    A scheme like `javascript:` or `https://` is broken up so no client autolinks it.
    """
    flat = _flatten(text)
    html_safe = "".join(_HTML.get(char, char) for char in flat)
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", html_safe)
    return _URL_SCHEME.sub(lambda m: m.group(1) + "&#58;" + ("&#47;&#47;" if m.group(2) else ""), escaped)


def plain(text: str) -> str:
    """Return `text` for a plain-text field (summary, labels): one line, no angle brackets or backticks."""
    # Look-alike quotation marks keep the text readable where the brackets would be unsafe.
    return _flatten(text).translate({ord("<"): "\u2039", ord(">"): "\u203a", ord("`"): "'"})
