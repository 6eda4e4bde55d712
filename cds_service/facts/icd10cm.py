"""ICD-10-CM hierarchy: a value set may name a code "and its descendants"; this expands it at start-up.

The code table is the ICD-10-CM tabular list that `simple-icd-10-cm` ships (its data file names the edition,
for example "April 1, 2026"). Importing that package parses a 10 MB XML file (about 4 s), so an expansion is
cached on disk, keyed by the package version and the roots asked for: a second start with the same value sets
reads a small JSON file instead. A root is either a code (`M33`, `K92.2`: the code and every code below it) or
a range of categories (`C00-C96`: every code whose category lies in the range). The tabular list groups
chapter 2's sub-blocks beside `C00-C96` rather than under it, so a range is read by category, not by
the block's children; the range must still be a block of the list (`C00-C96`, `D00-D09`), so a typing slip
stops start-up like an unknown code does.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Final

PACKAGE: Final = "simple-icd-10-cm"


class UnknownCode(ValueError):
    """A root is not a code or block of the shipped ICD-10-CM table."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code!r} is not a code or block of {edition()}")
        self.code = code


@cache
def edition() -> str:
    """The edition of the shipped tabular list, read from its data file name (importing would parse it)."""
    names = [path.name for path in metadata.files(PACKAGE) or ()]
    tabular = next((n for n in names if n.startswith("icd10c-tabular-") and n.endswith(".xml")), "")
    # "icd10c-tabular-April-1-2026.xml" -> "April 1, 2026"
    parts = tabular.removeprefix("icd10c-tabular-").removesuffix(".xml").split("-")
    date = f"{parts[0]} {parts[1]}, {parts[2]}" if len(parts) == 3 else "unknown date"
    return f"ICD-10-CM {date} (simple-icd-10-cm {metadata.version(PACKAGE)})"


@cache
def _table() -> ModuleType:
    # The package reads its data with a deprecated importlib call at import time; the warning is not ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    module: ModuleType = simple_icd_10_cm
    return module


def _expand_one(root: str) -> tuple[str, ...]:
    table = _table()
    if not table.is_valid_item(root):
        raise UnknownCode(root)
    if "-" not in root:
        return (root, *table.get_descendants(root))
    first, last = root.split("-", 1)
    return tuple(code for code in table.get_all_codes(True) if "-" not in code and first <= code[:3] <= last)


def _cache_file(cache_dir: Path, roots: list[str]) -> Path:
    key = hashlib.sha256(json.dumps([edition(), roots]).encode()).hexdigest()[:20]
    return cache_dir / f"icd10cm-{key}.json"


def expand(roots: Iterable[str], cache_dir: Path | None = None) -> Mapping[str, tuple[str, ...]]:
    """Return root -> the codes it stands for (with dots, the root's own code first when it is a code).

    Raises:
        UnknownCode: naming the first root the table does not hold.
    """
    wanted = sorted(set(roots))
    if not wanted:
        return {}
    path = _cache_file(cache_dir, wanted) if cache_dir is not None else None
    if path is not None:
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            return {root: tuple(cached[root]) for root in wanted}
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no cache yet, or a damaged one: expand again
    expansion = {root: _expand_one(root) for root in wanted}
    if path is not None:
        _write_atomically(path, json.dumps(expansion))
    return expansion


def _write_atomically(path: Path, text: str) -> None:
    """Write the cache so that a concurrent start never reads half a file; an unwritable folder is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as handle:
            handle.write(text)
        os.replace(handle.name, path)
    except OSError:
        return


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/nxp2-cds`, else `~/.cache/nxp2-cds`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nxp2-cds"
