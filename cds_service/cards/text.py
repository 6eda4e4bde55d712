"""Make text that came from a request safe inside markdown and plain-text card fields.

EHRs render `detail` as GitHub-flavoured markdown and some (the public sandbox among them) pass raw HTML
through, so every string that comes from patient data is escaped here before it reaches a card: no HTML,
no link, image, autolink or code span, no emphasis, one line, bounded length. Written by hand because
maintained markdown libraries render markdown and none escapes text into it; the tests check the output
with two real renderers (markdown-it-py, and cmark-gfm, GitHub's own, which autolinks e-mail addresses).
"""

from __future__ import annotations

import re

MAX_CHARS = 500
WORD_JOINER = "\u2060"  # invisible, zero width, and not part of any URL or e-mail address

# C0 and C1 controls, NEL and the Unicode line/paragraph separators could start a new markdown block.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Bidirectional overrides and isolates can make text display differently from what it is.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Every ASCII character with a meaning in GFM inline or block syntax (or in math and footnote extensions);
# `<`, `>`, `&` and `"` become HTML entities instead. Escaping a harmless one costs nothing.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=$^])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# Where linkifiers start a link: a scheme's colon, `www.`, and `@` (cmark-gfm finds e-mail addresses in
# text *after* escapes are resolved, so backslashes or entities alone do not stop it).
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*):(?=\S)")
_WWW = re.compile(r"(?i)\b(www)\.")


def _flatten(text: str, max_chars: int) -> str:
    """Make `text` one line without control or bidi characters, at most `max_chars` long."""
    flat = _BIDI.sub("", _BREAKS.sub(" ", text)).strip()
    if len(flat) > max_chars:
        flat = flat[: max_chars - 1].rstrip() + "…"
    return flat


def _unlinkable(text: str) -> str:
    """Put an invisible word joiner where a linkifier would start a URL or e-mail link."""
    text = _SCHEME.sub(lambda m: f"{m.group(1)}:{WORD_JOINER}", text)
    text = _WWW.sub(lambda m: f"{m.group(1)}{WORD_JOINER}.", text)
    return text.replace("@", f"{WORD_JOINER}@{WORD_JOINER}")


def escape_markdown(text: str, max_chars: int = MAX_CHARS) -> str:
    """Return `text` as literal inline markdown: no HTML, no links, no emphasis, no code, one line."""
    safe = _unlinkable(_flatten(text, max_chars))
    html_safe = "".join(_HTML.get(char, char) for char in safe)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html_safe)


def plain(text: str, max_chars: int = MAX_CHARS) -> str:
    """Return `text` for a plain-text field (summary, labels): one line, no angle brackets, backticks or links."""
    # Look-alike quotation marks keep the text readable where the brackets would be unsafe.
    safe = _unlinkable(_flatten(text, max_chars))
    return safe.translate({ord("<"): "\u2039", ord(">"): "\u203a", ord("`"): "'"})
