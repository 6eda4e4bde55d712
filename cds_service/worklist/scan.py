"""Find the candidate patients of an NDJSON export and read only their resources, with DuckDB out of core.

Why DuckDB rather than a hand-written index: it parses JSON lines in C++ on every core, spills to disk under
a memory limit, and does the semi-join of pass 2 and the sort by patient for us. Each file is read as one
VARCHAR column per line (byte 0x01 as the delimiter: valid JSON never holds a raw control byte), so a
malformed line is a row we can count and inspect rather than an error that stops the file.

Pass 1 (`find_candidates`): every Observation whose code or component code names anti-NXP2 (the value set's
codes and text patterns, case-insensitive, excludes not applied) makes its patient a candidate.
Every rule needs an anti-NXP2 result, so nobody else can be due a card; the filter is a superset (a panel
the text excludes still makes a candidate) and the hook path decides. Pass 2 (`candidate_records`) copies
the candidates' lines into a DuckDB table and yields them patient by patient.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson

from cds_service.facts.valuesets import ICD10CM, ValueSets, normalise_code
from cds_service.worklist.problems import (
    MALFORMED,
    NO_SUBJECT,
    NO_TYPE,
    NOT_READ,
    UNREADABLE_FILE,
    Problems,
)

ANTIBODY = "anti-nxp2"
MAX_LINE_BYTES = 16 * 1024 * 1024  # one resource per line; larger ones (an embedded PDF) make the file unreadable
SEPARATOR = "\x1f"  # between the texts of one Observation: neither a word character nor \s


class ScanError(RuntimeError):
    """The scan cannot run at all (DuckDB refused the value set's patterns, no temp space); says why."""


@dataclass(frozen=True)
class ExportFile:
    path: Path
    declared_type: str = ""  # the manifest's `type`, or the file name's stem: a hint for malformed lines


@dataclass(frozen=True)
class CandidateFilter:
    """What makes an Observation name anti-NXP2, in the forms DuckDB compares."""

    codes: tuple[str, ...]
    pattern: str  # RE2, case-insensitive: the value set's include patterns joined

    @classmethod
    def from_valuesets(cls, valuesets: ValueSets) -> CandidateFilter:
        # Every code the lookup maps to the concept (descendants expanded at load), compared without dots and
        # in upper case as ICD-10-CM codes are looked up: comparing every code so can only add candidates.
        codes = sorted({normalise_code(ICD10CM, code) for (_, code), names in valuesets.by_code.items()
                        if ANTIBODY in names})
        file = valuesets.files[ANTIBODY]
        include = file.text.include if file.text is not None else []
        pattern = "(?i)" + "|".join(f"(?:{p})" for p in include) if include else "(?!)"
        return cls(tuple(codes), pattern)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list(items: tuple[str, ...] | frozenset[str]) -> str:
    return "[" + ", ".join(_literal(i) for i in sorted(items)) + "]::VARCHAR[]"


def _source(path: Path) -> str:
    return (
        f"read_csv({_literal(str(path))}, columns={{'line': 'VARCHAR'}}, delim='\x01', quote='', escape='', "
        f"header=false, auto_detect=false, max_line_size={MAX_LINE_BYTES}, buffer_size={2 * MAX_LINE_BYTES}, "
        "compression='auto')"
    )


_TEXTS = (
    "array_to_string(list_concat([json_extract_string(line, '$.code.text')], "
    "json_extract_string(line, '$.code.coding[*].display'), json_extract_string(line, '$.component[*].code.text'), "
    "json_extract_string(line, '$.component[*].code.coding[*].display')), chr(31))"
)
_CODES = (
    "list_transform(list_concat(json_extract_string(line, '$.code.coding[*].code'), "
    "json_extract_string(line, '$.component[*].code.coding[*].code')), lambda x: upper(replace(trim(x), '.', '')))"
)
# A malformed line is not JSON, but its patient and type can often still be read by pattern.
_LOST_PATIENT = (
    r"""coalesce(nullif(regexp_extract(line, '"(?:subject|patient)"\s*:\s*\{[^{}]*"reference"\s*:\s*"(?:[^"]*/)?"""
    r"""Patient/([^"/]+)"', 1), ''), CASE WHEN regexp_matches(line, '"resourceType"\s*:\s*"Patient"') """
    r"""THEN nullif(regexp_extract(line, '"id"\s*:\s*"([^"]+)"', 1), '') END, '')"""
)
_LOST_TYPE = r"""regexp_extract(line, '"resourceType"\s*:\s*"([A-Za-z]+)"', 1)"""


def _code_pattern(codes: tuple[str, ...]) -> str:
    """A raw-line regex that any JSON string holding one of the codes matches (dots allowed between
    characters, any case, blanks around: the lookup strips ICD-10-CM dots and compares in upper case)."""
    def loose(code: str) -> str:
        return r"\.?".join(re.escape(ch) for ch in code)
    alternatives = [f'"\\s*{loose(c)}\\s*"' for c in codes]
    return "(?i)" + "|".join(alternatives) if alternatives else "(?!)"


def _keyed(path: Path, candidate: CandidateFilter | None, everyone: bool = False) -> str:
    """The lines of one file with ok (valid JSON), rt (resourceType), pid (patient id), hit (candidate by
    its raw line) and escaped (an Observation line with a JSON escape, see `_escaped_hits`).

    `hit` is decided on the raw line (the value set's text patterns and codes anywhere in it: a superset of
    them in the code texts, and cheap to test).
    """
    escaped = "false"
    if everyone:
        hit = "ok"
    elif candidate is None:
        hit = "false"
    else:
        hit = (f"CASE WHEN ok AND f[1] = 'Observation' THEN regexp_matches(line, {_literal(candidate.pattern)}) "
               f"OR regexp_matches(line, {_literal(_code_pattern(candidate.codes))}) "
               "ELSE false END")
        escaped = "CASE WHEN ok AND f[1] = 'Observation' THEN regexp_matches(line, '\\\\[utnrfb]') ELSE false END"
    # Built as text: DuckDB takes a table function's file name and a regex only as constants. Every value put
    # in goes through _literal (quotes doubled); they come from our own value sets and the export's file names.
    return f"""
        WITH raw AS (SELECT line FROM {_source(path)} WHERE line IS NOT NULL AND trim(line) <> ''),
        v AS (SELECT line, json_valid(line) AS ok FROM raw),
        k AS (SELECT line, ok, CASE WHEN ok THEN json_extract_string(line,
                ['$.resourceType', '$.id', '$.subject.reference', '$.patient.reference']) END AS f FROM v),
        r AS (SELECT line, ok, f, coalesce(f[3], f[4], '') AS ref FROM k)
        SELECT line, ok, f[1] AS rt,
            CASE WHEN f[1] = 'Patient' THEN f[2]
                 WHEN starts_with(ref, 'Patient/') AND NOT contains(substr(ref, 9), '/') THEN nullif(substr(ref, 9), '')
                 ELSE nullif(regexp_extract(ref, '(?:^|/)Patient/([^/]+)', 1), '') END AS pid,
            {hit} AS hit, {escaped} AS escaped
        FROM r"""  # noqa: S608


def _escaped_hits(path: Path, candidate: CandidateFilter) -> str:
    """An escape (\\u00e9, \\t) can hide a text from the raw-line test: such lines are also tested on their
    decoded code texts and codes. In a WHERE clause, so only those few lines are decoded."""
    return f"""
        SELECT DISTINCT pid FROM ({_keyed(path, candidate)})
        WHERE escaped AND NOT hit AND pid IS NOT NULL
          AND (regexp_matches({_TEXTS}, {_literal(candidate.pattern)})
               OR list_has_any({_CODES}, {_list(candidate.codes)}))"""  # noqa: S608


class ExportScan:
    """The DuckDB side of a worklist run: one in-memory database with a memory limit and a spill folder."""

    def __init__(self, files: list[ExportFile], types: frozenset[str], problems: Problems, *,
                 temp_dir: Path, memory_limit: str = "512MB", threads: int | None = None) -> None:
        self.files = files
        self.types = types
        self.problems = problems
        self.db = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(temp_dir),
                                         "preserve_insertion_order": False})
        if threads:
            self.db.execute(f"SET threads = {int(threads)}")
        self.db.execute("CREATE TABLE candidates (pid VARCHAR PRIMARY KEY)")
        self.db.execute("CREATE TABLE picked (pid VARCHAR, rt VARCHAR, line VARCHAR)")
        self.readable: list[ExportFile] = []

    def close(self) -> None:
        self.db.close()

    def find_candidates(self, candidate: CandidateFilter, done: Callable[[ExportFile], None] = lambda _: None,
                        *, everyone: bool = False) -> int:
        """Pass 1: count bad input and collect the candidate patients (with `everyone`, every patient a
        resource of a type the rules read belongs to). Returns how many were found."""
        types = _list(self.types)
        for file in self.files:
            query = f"""
                WITH c AS ({_keyed(file.path, candidate, everyone)})
                SELECT count(*) FILTER (WHERE NOT ok),
                    count(*) FILTER (WHERE ok AND rt IS NULL),
                    count(*) FILTER (WHERE ok AND rt IS NOT NULL AND NOT list_contains({types}, rt)),
                    count(*) FILTER (WHERE ok AND list_contains({types}, rt) AND pid IS NULL),
                    list(DISTINCT pid) FILTER (WHERE hit AND pid IS NOT NULL AND list_contains({types}, rt)),
                    count(*) FILTER (WHERE escaped AND NOT hit)
                FROM c"""  # noqa: S608 (see _keyed)
            try:
                row = self.db.execute(query).fetchone()
            except (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException) as error:
                self._unreadable(file, error)
                done(file)
                continue
            except duckdb.Error as error:
                raise ScanError(f"{file.path.name}: {_first_line(error)}") from None
            assert row is not None
            malformed, no_type, not_read, no_subject, hits, escaped = row
            if escaped and not everyone:
                decoded = self.db.execute(_escaped_hits(file.path, candidate)).fetchall()
                hits = [*(hits or ()), *(pid for (pid,) in decoded)]
            name = file.path.name
            self.problems.add(MALFORMED, name, malformed)
            self.problems.add(NO_TYPE, name, no_type)
            self.problems.add(NOT_READ, name, not_read)
            self.problems.add(NO_SUBJECT, name, no_subject)
            if malformed:  # rare: a second read, of the malformed lines only, for whose data they held
                lost = self.db.execute(f"""
                    SELECT DISTINCT {_LOST_PATIENT}, {_LOST_TYPE}
                    FROM ({_keyed(file.path, None)}) WHERE NOT ok""").fetchall()  # noqa: S608 (see _keyed)
                for patient_id, resource_type in lost:
                    self._lost(patient_id, resource_type or file.declared_type)
            if hits:
                self.db.executemany("INSERT OR IGNORE INTO candidates VALUES (?)", [(h,) for h in hits])
            self.readable.append(file)
            done(file)
        # A patient who lost a line is listed even when the lost line was the antibody result.
        lost_patients = [(pid,) for pid in self.problems.patient_types]
        if lost_patients:
            self.db.executemany("INSERT OR IGNORE INTO candidates VALUES (?)", lost_patients)
        count = self.db.execute("SELECT count(*) FROM candidates").fetchone()
        return int(count[0]) if count else 0

    def _lost(self, patient_id: str, resource_type: str) -> None:
        """Record a line that could not be read; without a known type, every type the rules read is lost."""
        if resource_type and resource_type not in self.types:
            return  # a line of a type the rules never read: nothing they need was lost
        for lost in {resource_type} if resource_type else self.types:
            if patient_id:
                self.problems.lose(patient_id, lost)
            else:
                self.problems.uncertain_types.add(lost)

    def _unreadable(self, file: ExportFile, error: Exception) -> None:
        """A file DuckDB cannot read to the end (truncated gzip, not UTF-8): its type is lost for everyone."""
        self.problems.add(UNREADABLE_FILE, f"{file.path.name} ({_first_line(error)[:160]})")
        self._lost("", file.declared_type)

    def candidate_records(self, done: Callable[[ExportFile], None] = lambda _: None
                          ) -> Iterator[tuple[str, list[dict[str, object]]]]:
        """Pass 2: yield (patient id, that patient's resources of the types the rules read), by patient id."""
        types = _list(self.types)
        for file in self.readable:
            self.db.execute(f"""
                INSERT INTO picked SELECT pid, rt, line FROM ({_keyed(file.path, None)})
                WHERE ok AND list_contains({types}, rt) AND pid IN (SELECT pid FROM candidates)""")  # noqa: S608
            done(file)
        cursor = self.db.execute(
            "SELECT c.pid, p.line FROM candidates c LEFT JOIN picked p USING (pid) ORDER BY c.pid"
        )
        current: str | None = None
        resources: list[dict[str, object]] = []
        while batch := cursor.fetchmany(2048):
            for pid, line in batch:
                if pid != current:
                    if current is not None:
                        yield current, resources
                    current, resources = pid, []
                if line is not None:
                    resources.append(orjson.loads(line))
        if current is not None:
            yield current, resources


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
