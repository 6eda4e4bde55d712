"""What the docs name exists: every `CDS_*` variable is a setting, every file or folder of the repository a
doc names is there, every relative link (and its #anchor) resolves, every `make` target and `nxp2-cds`
command is defined. Issue 20 found docs pointing at a replay file, an access-log format and a "FHIR client
documentation" that did not exist; this keeps the next one from being written.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from cds_service.cli import main
from cds_service.config import PROJECT_ROOT, Settings

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
SETTINGS = {f.metadata["env"] for f in fields(Settings)}
# Top-level entries a doc may name as `entry/...`; made at run time, so not in the checkout: .venv,
# .venv-fhir, var (CDS_DATA_DIR's default), keys (what the walkthrough's `nxp2-cds keys` writes) and
# test-output (what the browser tests write).
RUNTIME = {".venv", ".venv-fhir", "var", "keys", "test-output"}
TOP_LEVEL = {p.name for p in PROJECT_ROOT.iterdir() if not p.name.startswith(".git")} | RUNTIME


def doc_id(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def code_spans(text: str) -> list[str]:
    """Every inline code span and every line of a fenced block."""
    fenced = re.findall(r"```[^\n]*\n(.*?)```", text, re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    return inline + [line for block in fenced for line in block.splitlines()]


def repository_paths(text: str) -> set[str]:
    """Words that name a path under a top-level entry of the checkout (`deploy/k8s/`, `cds_service/cli.py`)."""
    found = set()
    for span in code_spans(text):
        for word in re.findall(r"(?<![\w/.{$-])([\w.-]+/[\w./*-]*)", span):
            if word.split("/", 1)[0] in TOP_LEVEL and "://" not in word:
                found.add(word.rstrip(".,:;"))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE)}


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_cds_variable_a_doc_names_is_a_setting(doc: Path) -> None:
    named = set(re.findall(r"\bCDS_[A-Z0-9_]+\b", doc.read_text()))
    assert named - SETTINGS == set()


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_repository_path_a_doc_names_exists(doc: Path) -> None:
    paths = repository_paths(doc.read_text())
    missing = [p for p in sorted(paths) if p.split("/", 1)[0] not in RUNTIME
               and not (list(PROJECT_ROOT.glob(p)) if "*" in p else (PROJECT_ROOT / p).exists())]
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_relative_link_and_anchor_resolves(doc: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (doc.parent / file).resolve() if file else doc
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    assert broken == []


def make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_every_make_target_and_cli_command_a_doc_names_exists(doc: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join(code_spans(doc.read_text()))
    assert set(re.findall(r"\bmake ([a-z][\w-]*)", text)) - make_targets() == set()
    with pytest.raises(SystemExit):
        main(["--help"])
    commands = set(re.search(r"\{([\w,-]+)\}", capsys.readouterr().out).group(1).split(","))  # type: ignore[union-attr]
    assert set(re.findall(r"\bnxp2-cds ([a-z][\w-]*)", text)) - commands == set()


def test_the_checks_see_a_dead_reference() -> None:
    """Control: the scanners find what they are meant to find."""
    text = "See `deploy/k8s/nope.yaml`, `cds_service/cli.py` and `.venv/bin/nxp2-cds`; `https://x.org/docs/a`."
    assert repository_paths(text) == {"deploy/k8s/nope.yaml", "cds_service/cli.py", ".venv/bin/nxp2-cds"}
    assert not (PROJECT_ROOT / "deploy/k8s/nope.yaml").exists()
    assert slug("Metrics and the public port") in anchors(PROJECT_ROOT / "docs" / "deploy.md")
    assert "fhir-server" in make_targets()
