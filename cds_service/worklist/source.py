"""The files of an export on disk: `--ndjson DIR`, or the folder the bulk client downloaded into.

A `manifest.json` in the folder (the bulk client writes one) names each file's type and the server's error
files; without it every `*.ndjson` file (gzip allowed) is data, its type hinted by its name.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from cds_service.worklist.problems import DOWNLOAD_FAILED, SERVER_ERROR, Problems
from cds_service.worklist.scan import ExportFile

MANIFEST = "manifest.json"
_TYPE_PREFIX = re.compile(r"^[A-Z][A-Za-z]+")


class SourceError(RuntimeError):
    """The folder is not an export we can read at all; the message says why."""


def _count_lines(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for line in stream if line.strip())


def export_files(folder: Path, problems: Problems) -> list[ExportFile]:
    """The data files of the export, with the server's error entries counted into `problems`."""
    if not folder.is_dir():
        raise SourceError(f"{folder}: no such folder")
    manifest_path = folder / MANIFEST
    if manifest_path.is_file():
        try:
            manifest = orjson.loads(manifest_path.read_bytes())
            outputs = [(str(o["type"]), folder / str(o["file"])) for o in manifest.get("output", [])]
            errors = [folder / str(e["file"]) for e in manifest.get("error", [])]
            failed = [(str(f.get("type") or ""), str(f.get("url") or "")) for f in manifest.get("failed", [])]
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            raise SourceError(f"{manifest_path}: not a manifest this tool wrote ({error})") from None
        for path in errors:
            problems.add(SERVER_ERROR, path.name, _count_lines(path) if path.is_file() else 1)
        for kind, url in failed:
            # A file we could not fetch: whose data it held is unknown, so its type is uncertain for everyone.
            problems.add(DOWNLOAD_FAILED, url.split("?")[0] or "(no url)")
            if kind:
                problems.uncertain_types.add(kind)
        return [ExportFile(path, kind) for kind, path in outputs if path.is_file()]
    files = sorted(p for p in folder.iterdir() if p.is_file() and ".ndjson" in p.name)
    if not files:
        raise SourceError(f"{folder}: no *.ndjson files")
    found = []
    for path in files:
        match = _TYPE_PREFIX.match(path.name)
        if match and match.group(0) == "OperationOutcome":
            problems.add(SERVER_ERROR, path.name, _count_lines(path))
            continue
        found.append(ExportFile(path, match.group(0) if match else ""))
    return found
