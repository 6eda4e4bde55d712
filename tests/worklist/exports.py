"""Build NDJSON exports for the worklist tests from the fixture Bundles (standard library and orjson only)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

FIXTURES = Path(__file__).resolve().parents[2] / "fhir_fixtures"
NOW_ARG = "2026-11-24T09:00:00Z"  # tests.conftest.NOW, as the command line takes it


def fixture_bundles() -> dict[str, dict[str, Any]]:
    return {path.stem: orjson.loads(path.read_bytes()) for path in sorted(FIXTURES.glob("*.json"))}


def resources_by_type(bundles: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bundle in bundles.values():
        for entry in bundle.get("entry", []):
            by_type[entry["resource"]["resourceType"]].append(entry["resource"])
    return by_type


def write_export(folder: Path, by_type: dict[str, list[dict[str, Any]]], *, parts: int = 1) -> Path:
    """One NDJSON file per type (or `parts` files per type, as servers split large exports)."""
    folder.mkdir(parents=True, exist_ok=True)
    for resource_type, resources in by_type.items():
        for part in range(parts):
            name = f"{resource_type}.ndjson" if parts == 1 else f"{resource_type}-{part}.ndjson"
            lines = [orjson.dumps(r) for r in resources[part::parts]]
            (folder / name).write_bytes(b"\n".join(lines) + b"\n")
    return folder


def patient_of(bundle: dict[str, Any]) -> str:
    return next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
