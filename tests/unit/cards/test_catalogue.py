"""The catalogue loader: the real catalogue loads and agrees with the registry; each kind of bad file stops
start-up with a message naming the file and the field."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cds_service.app import create_app
from cds_service.cards.catalogue import CatalogueError, load_catalogue
from cds_service.config import PROJECT_ROOT
from cds_service.rules import REGISTRY
from tests.conftest import TESTS, settings_for
from tests.rules_for_tests import TEST_REGISTRY

RULE_FILE = "rules/test-born-before.yaml"
SERVICE_FILE = "services/test-service.yaml"


def test_the_real_catalogue_loads_and_names_every_registered_rule() -> None:
    catalogue = load_catalogue(PROJECT_ROOT / "cards", REGISTRY)
    (service,) = catalogue.services.values()
    assert sorted(service.rules) == sorted(REGISTRY) == sorted(catalogue.rules)
    assert len(REGISTRY) == 10


def test_the_loaded_catalogue_cannot_be_changed() -> None:
    catalogue = load_catalogue(TESTS / "catalogue_for_tests", TEST_REGISTRY)
    with pytest.raises(Exception, match="frozen"):
        catalogue.rules["test-born-before"].card.indicator = "critical"  # type: ignore[misc]


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "cards"
    shutil.copytree(TESTS / "catalogue_for_tests", root)
    return root


def _edit(root: Path, file: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / file
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _second_rule_with_the_same_suggestion_id(root: Path) -> None:
    data = yaml.safe_load((root / RULE_FILE).read_text())
    data["id"] = "test-copy"
    (root / "rules" / "test-copy.yaml").write_text(yaml.safe_dump(data))


INVALID: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "missing evidence": (RULE_FILE, lambda d: d.pop("evidence"), "field evidence"),
    "summary of 140 characters": (
        RULE_FILE, lambda d: d["card"].__setitem__("summary", "x" * 140), "field card"),
    "summary too long once placeholders are filled": (
        RULE_FILE, lambda d: d["card"].__setitem__("summary", "x" * 128 + " {year}"), "fewer than 140"),
    "unknown indicator": (RULE_FILE, lambda d: d["card"].__setitem__("indicator", "hard-stop"), "card.indicator"),
    "missing source": (RULE_FILE, lambda d: d["card"].pop("source"), "card.source"),
    "source url not absolute https": (
        RULE_FILE, lambda d: d["card"]["source"].__setitem__("url", "/relative"), "card.source.url"),
    "id not matching the file": (RULE_FILE, lambda d: d.__setitem__("id", "other-id"), "field id"),
    "unknown field": (RULE_FILE, lambda d: d.__setitem__("colour", "red"), "colour"),
    "param needed by the rule missing": (RULE_FILE, lambda d: d["params"].pop("born_before"), "params.born_before"),
    "param in the wrong unit": (
        RULE_FILE, lambda d: d["params"]["born_before"].__setitem__("unit", "mg/dL"), "params.born_before.unit"),
    "param the rule never uses": (
        RULE_FILE, lambda d: d["params"].__setitem__("unused", {"value": 1, "unit": "d"}), "params.unused"),
    "escalation the rule needs missing": (RULE_FILE, lambda d: d.pop("escalations"), "escalations.very-old"),
    "suggestion without codes": (RULE_FILE, lambda d: d["suggestions"][0].__setitem__("codes", []), "codes"),
    "bare source key in card text": (
        RULE_FILE, lambda d: d["card"].__setitem__("detail", "As S3 showed."), "names 'S3'"),
    "internal file name in a caveat": (
        RULE_FILE, lambda d: d.__setitem__("caveats", ["See clinical-evidence.md section 4."]), "clinical-evidence.md"),
    "evidence line citing no evidence row": (
        RULE_FILE, lambda d: d["card"]["evidence"].__setitem__("source", "Nobody 1999, Nowhere"), "Nobody 1999"),
    "evidence line citing a row without a link": (
        RULE_FILE, lambda d: d["evidence"][0].pop("url"), "no url"),
    "escalation offering an unknown order": (
        RULE_FILE, lambda d: d["escalations"]["very-old"].__setitem__("suggestions", ["nope"]), "['nope']"),
    "evidence page without what the card does not do": (
        RULE_FILE, lambda d: d["page"].pop("does_not"), "page.does_not"),
    "missing review date": (RULE_FILE, lambda d: d.pop("reviewed"), "field reviewed"),
    "service with an unknown rule": (
        SERVICE_FILE, lambda d: d["rules"].append("no-such-rule"), "field rules"),
    "service hook not served": (SERVICE_FILE, lambda d: d.__setitem__("hook", "order-select"), "field hook"),
    "override reason without display": (
        SERVICE_FILE, lambda d: d["override_reasons"][0].pop("display"), "override_reasons"),
    "required prefetch key without a template": (
        SERVICE_FILE, lambda d: d["required_prefetch"].append("nope"), "required_prefetch"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_a_bad_file_stops_loading_naming_file_and_field(tmp_path: Path, case: str) -> None:
    file, change, field = INVALID[case]
    root = _copy(tmp_path)
    _edit(root, file, change)
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(root, TEST_REGISTRY)
    message = str(raised.value)
    assert str(root / file) in message or str(root / "rules") in message, message
    assert field in message, message


def test_a_rule_without_a_catalogue_file_stops_loading(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / RULE_FILE).unlink()
    _edit(root, SERVICE_FILE, lambda d: d.__setitem__("rules", []))
    with pytest.raises(CatalogueError, match="registered but has no catalogue file"):
        load_catalogue(root, TEST_REGISTRY)


def test_a_catalogue_file_without_a_rule_stops_loading(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no rule function is registered"):
        load_catalogue(_copy(tmp_path), {})


def test_two_rules_with_one_suggestion_id_stop_loading(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _second_rule_with_the_same_suggestion_id(root)
    registry = dict(TEST_REGISTRY) | {"test-copy": TEST_REGISTRY["test-born-before"]}
    with pytest.raises(CatalogueError, match=r"suggestions\.id: 'test-order' is already used"):
        load_catalogue(root, registry)


def test_a_file_that_is_not_yaml_stops_loading(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / RULE_FILE).write_text("card: [unclosed")
    with pytest.raises(CatalogueError, match="cannot be read as YAML"):
        load_catalogue(root, TEST_REGISTRY)


def test_a_bad_catalogue_stops_the_app_factory(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root, RULE_FILE, lambda d: d["card"].__setitem__("indicator", "urgent"))
    with pytest.raises(CatalogueError, match=r"card\.indicator"):
        create_app(settings_for(tmp_path, catalogue_dir=root), registry=TEST_REGISTRY)
