"""Fixtures of the facts tests: a writable copy of the real value sets for loader and settings tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.unit.facts.fhir import VALUESETS_DIR


@pytest.fixture
def valueset_copy(tmp_path: Path) -> Path:
    """A copy of cards/valuesets that a test may edit."""
    target = tmp_path / "valuesets"
    shutil.copytree(VALUESETS_DIR, target)
    return target


def edit(folder: Path, name: str, old: str, new: str) -> Path:
    """Replace text in one value-set file of a copy; fail loudly when the text is not there."""
    path = folder / f"{name}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path
