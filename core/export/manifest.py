"""The manifest of a finished export: what ``manifest.json`` holds and what a run returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a finished export holds; written as ``manifest.json`` and returned to the caller."""

    out_dir: str
    campaign: str
    subject: str
    purpose: str
    request_id: str
    channel: str
    format: str
    fields: tuple[str, ...]
    template: Mapping[str, str] | None
    started_at: str
    finished_at: str
    selected: int
    exported: int
    letters: int
    suppressed: Mapping[str, int]
    quarantined: Mapping[str, int]
    files: Mapping[str, str]
    audit: Mapping[str, int]
    gate: Mapping[str, int | str] = field(default_factory=dict)

    @property
    def quarantined_total(self) -> int:
        return self.selected - self.exported

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["fields"] = list(self.fields)
        doc["counts"] = {
            "selected": self.selected,
            "exported": self.exported,
            "quarantined": self.quarantined_total,
            "suppressed": dict(self.suppressed),
            "quarantined_by_reason": dict(self.quarantined),
        }
        for key in ("selected", "exported", "suppressed", "quarantined"):
            del doc[key]
        return doc
