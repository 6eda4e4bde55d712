"""Make text that came from a request safe inside markdown and plain-text card fields.

EHRs render `detail` as GitHub-flavoured markdown and some (the public sandbox among them) pass raw HTML
through; others show it as plain text. So every string that comes from patient data is escaped here, and
only where markdown would give a character a meaning: the text stays readable raw (`Anti-NXP2`, `24.7`,
`(active)`, `AST > 48` need no backslash) and never holds an HTML entity. The result is one line of literal
inline text: no HTML, no link, image, autolink or code span, no emphasis, no block start. Written by hand
because maintained markdown libraries render markdown and none escapes text into it; the tests check the
output with two real renderers (markdown-it-py with linkify, and cmark-gfm, GitHub's own, which autolinks
e-mail addresses and bare domains).
"""

from __future__ import annotations

import re

MAX_CHARS = 500
WORD_JOINER = "\u2060"  # invisible, zero width, and not part of any URL or e-mail address

# C0 and C1 controls, NEL and the Unicode line/paragraph separators could start a new markdown block.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Bidirectional overrides and isolates can make text display differently from what it is.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Characters with a meaning wherever they stand: backslash escapes, code spans, emphasis, strikethrough,
# link and image brackets (with `[` escaped, `(`, `)` and `!` are plain), and GFM table cells.
_ALWAYS = re.compile(r"([\\`*\[\]~|])")
# `_` makes emphasis only at a word's edge (CommonMark ignores it inside a word: `snake_case`).
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# `<` opens raw HTML or an autolink only before a letter, `/`, `!` or `?`; `&` starts an entity only
# before a name or number and `;`. A backslash keeps both literal without turning them into entities.
_ANGLE = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# Block syntax matters only at the start of the text: heading, quote, list item, thematic break, setext
# underline, or an ordered-list number (`1.` / `1)`).
_BLOCK_START = re.compile(r"^([#>+\-=])")
_ORDERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
# Where linkifiers start a link: a scheme's colon, `www.`, `@`, and a dot inside a domain-like word
# (`evil.example.org`; a dot between digits, `24.7`, is never a domain).
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*):(?=\S)")
_WWW = re.compile(r"(?i)\b(www)\.")
_DOMAIN_DOT = re.compile(r"(?<=[A-Za-z0-9])\.(?=[A-Za-z])")


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


# Text that every rule below leaves as it is: letters, digits, spaces inside, and `( ) , / % ' -`, not starting
# with a block marker or an ordered-list number. Most chart text is like this ("Dermatomyositis (active)"),
# and a card renders dozens of such strings: one C-speed match instead of a dozen substitutions.
_INERT = re.compile(r"(?!\d{1,9}\))[A-Za-z0-9(](?:[A-Za-z0-9 (),/%'\-]*[A-Za-z0-9(),/%'\-])?")


def escape_markdown(text: str, max_chars: int = MAX_CHARS) -> str:
    """Return `text` as literal inline markdown: no HTML, no links, no emphasis, no code, one line."""
    if len(text) <= max_chars and _INERT.fullmatch(text):
        return text
    return _escaped(text, max_chars)


def _escaped(text: str, max_chars: int) -> str:
    """Every rule of `escape_markdown`, applied in turn (the path for any text `_INERT` does not match)."""
    safe = _unlinkable(_flatten(text, max_chars))
    safe = _ALWAYS.sub(r"\\\1", safe)
    safe = _UNDERSCORE.sub(r"\\_", safe)
    safe = _ANGLE.sub(r"\\<", safe)
    safe = _ENTITY.sub(r"\\&", safe)
    # A backslash-escaped dot is still a dot to the reader, and it splits the word a linkifier would take
    # for a domain name (markdown-it and cmark-gfm both look for links in unescaped text runs only).
    safe = _DOMAIN_DOT.sub(r"\\.", safe)
    safe = _ORDERED.sub(r"\1\\\2", safe)
    return _BLOCK_START.sub(r"\\\1", safe)


def plain(text: str, max_chars: int = MAX_CHARS) -> str:
    """Return `text` for a plain-text field (summary, labels): one line, no angle brackets, backticks or links."""
    # Look-alike quotation marks keep the text readable where the brackets would be unsafe.
    safe = _unlinkable(_flatten(text, max_chars))
    return safe.translate({ord("<"): "\u2039", ord(">"): "\u203a", ord("`"): "'"})
