"""The candidate scan: an anti-NXP2 result is found by code, by text, and behind a JSON escape."""

from __future__ import annotations

from pathlib import Path

import orjson

from cds_service.config import Settings
from cds_service.facts.valuesets import load_valuesets
from cds_service.worklist.problems import Problems
from cds_service.worklist.scan import CandidateFilter, ExportFile, ExportScan

TYPES = frozenset({"Patient", "Observation", "Condition"})


def observation(pid: str, code: dict[str, object]) -> bytes:
    return orjson.dumps({"resourceType": "Observation", "id": f"o-{pid}", "status": "final",
                         "subject": {"reference": f"Patient/{pid}"}, "code": code, "valueString": "Positive"})


def test_candidates_by_code_text_component_and_escape(tmp_path: Path) -> None:
    lines = [
        observation("by-code", {"coding": [{"system": "urn:nxp2-cds:local-code", "code": "ANTI-NXP2"}]}),
        observation("by-text", {"text": "Anti-NXP2 antibody"}),
        observation("by-display", {"coding": [{"system": "urn:lab", "code": "x", "display": "MJ antibody"}]}),
        # "NXP\t2" is a tab in the decoded text (\s in the pattern) but a backslash-t in the raw line
        b'{"resourceType":"Observation","id":"e","subject":{"reference":"Patient/by-escape"},'
        b'"code":{"text":"Anti-NXP\\t2"}}',
        b'{"resourceType":"Observation","id":"u","subject":{"reference":"Patient/by-unicode"},'
        b'"code":{"text":"anti-\\u004exp2"}}',
        orjson.dumps({"resourceType": "Observation", "id": "c", "subject": {"reference": "Patient/by-component"},
                      "code": {"text": "Myositis panel"},
                      "component": [{"code": {"text": "NXP-2"}, "valueString": "Positive"}]}),
        observation("not-a-candidate", {"text": "Creatine kinase"}),
        b'{"resourceType":"Observation","id":"x","subject":{"reference":"Patient/escaped-other"},'
        b'"code":{"text":"CK\\tserum"}}',
        orjson.dumps({"resourceType": "Condition", "id": "d", "subject": {"reference": "Patient/condition-only"},
                      "code": {"text": "anti-NXP2 myositis"}}),
    ]
    (tmp_path / "Observation.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    valuesets = load_valuesets(Settings(mode="development").catalogue_dir / "valuesets")
    scan = ExportScan([ExportFile(tmp_path / "Observation.ndjson", "Observation")], TYPES, Problems(),
                      temp_dir=tmp_path)
    try:
        assert scan.find_candidates(CandidateFilter.from_valuesets(valuesets)) == 6
        found = [pid for pid, _ in scan.candidate_records()]
    finally:
        scan.close()
    assert found == sorted(["by-code", "by-text", "by-display", "by-escape", "by-unicode", "by-component"])
