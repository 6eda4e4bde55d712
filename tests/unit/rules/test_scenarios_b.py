"""The card 6-10 fixtures: files match their stories, and the rules agree with the written expectations.

The rules run on the facts each story says the facts layer should build, so a wrong expectation (or a rule
change) shows here before the end-to-end runner exists.
"""

from __future__ import annotations

import pytest
import yaml

from cds_service.rules import REGISTRY
from tests.unit.rules.factories_b import catalogue, context
from tests.unit.rules.scenarios_b import CARDS, EXPECTATIONS, Story, rendered_files, stories

STORIES = {story.name: story for story in stories()}


def test_every_fixture_file_and_the_expectations_match_their_stories() -> None:
    stale = [path.name for path, text in rendered_files().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert stale == [], "regenerate with: .venv/bin/python -m tests.unit.rules.scenarios_b"


def test_story_names_are_unique() -> None:
    assert len(STORIES) == len(stories())


def test_the_expectations_cover_every_card_of_every_story() -> None:
    scenarios = yaml.safe_load(EXPECTATIONS.read_text(encoding="utf-8"))["scenarios"]
    for name, expected in scenarios.items():
        assert sorted([*expected["fires"], *expected["silent"]]) == sorted(CARDS), name


def test_each_card_fires_in_at_least_one_story_and_is_silent_in_another() -> None:
    for card in CARDS:
        assert any(card in s.fires for s in STORIES.values()), card
        assert any(card not in s.fires for s in STORIES.values()), card


def indicator(rule_id: str, story: Story) -> str | None:
    finding = REGISTRY[rule_id].function(story.expected_facts(), context(rule_id))
    if finding is None:
        return None
    entry = catalogue().rules[rule_id]
    return entry.card.indicator if finding.escalation is None else entry.escalations[finding.escalation].indicator


@pytest.mark.parametrize("name", sorted(STORIES))
def test_the_rules_give_the_expected_cards_on_the_story_facts(name: str) -> None:
    story = STORIES[name]
    got = {card: indicator(card, story) for card in CARDS}
    assert {card: level for card, level in got.items() if level is not None} == story.fires
