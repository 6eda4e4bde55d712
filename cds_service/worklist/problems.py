"""Bad input met while reading an export: counted per kind and file, never fatal, never silently dropped.

Two consequences besides the counts: a patient whose line of some type could not be read loses that type
for the evaluation (the hook's "prefetch key unavailable" path), and a line that could not be tied to any
patient makes its type uncertain for every patient.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MALFORMED = "malformed line (not JSON)"
NO_SUBJECT = "resource without a patient subject"
NO_TYPE = "line without a resourceType"
NOT_READ = "resource type the rules do not read (ignored)"
UNREADABLE_FILE = "file could not be read"
SERVER_ERROR = "error entry in the export manifest"
DOWNLOAD_FAILED = "file could not be downloaded"


@dataclass
class Problems:
    """What went wrong, where, and whom it touches."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, file) -> count
    # patient id -> resource types whose data for that patient could not all be read
    patient_types: dict[str, set[str]] = field(default_factory=dict)
    # resource types that could not all be read, with no way to tell whose data was lost
    uncertain_types: set[str] = field(default_factory=set)

    def add(self, kind: str, file: str, count: int = 1) -> None:
        if count:
            self.counts[(kind, file)] += count

    def lose(self, patient_id: str, resource_type: str) -> None:
        self.patient_types.setdefault(patient_id, set()).add(resource_type)

    def lost_types(self, patient_id: str) -> set[str]:
        """The resource types that may be missing from this patient's data."""
        return self.uncertain_types | self.patient_types.get(patient_id, set())

    def lines(self) -> list[str]:
        """One line per kind and file, for the terminal summary and the reports."""
        return [f"{count:>8} x {kind}: {file}" for (kind, file), count in sorted(self.counts.items())]

    def as_json(self) -> list[dict[str, object]]:
        return [{"kind": kind, "file": file, "count": count} for (kind, file), count in sorted(self.counts.items())]
