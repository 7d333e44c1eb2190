"""What the routers use, built once by the app factory (the HTTP composition root).

The routers reach these through :func:`services` (``request.app.state``);
nothing in a router constructs a collaborator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from api.http.jobs import ExportJobs
from api.wiring import Hush
from core.apikeys import ApiKeys
from core.compliance import ComplianceQueries
from core.dsar import DataSubjectExport
from core.gateway import AccessContext


class NoteReceiptLike(Protocol):
    """``core.notes.NoteReceipt`` as far as the API needs it."""

    @property
    def note_id(self) -> str: ...
    @property
    def sensitivity(self) -> str: ...
    @property
    def labels(self) -> Sequence[str]: ...
    @property
    def findings(self) -> Sequence[Mapping[str, Any]]: ...


class NoteAdder(Protocol):
    """``core.notes.NoteService.add``: analyse once, store encrypted, audited."""

    def add(self, ctx: AccessContext, external_id: str, text: str) -> NoteReceiptLike: ...


@dataclass(frozen=True)
class HttpServices:
    hush: Hush
    apikeys: ApiKeys
    compliance: ComplianceQueries
    dsar: DataSubjectExport
    notes: NoteAdder | None
    jobs: ExportJobs | None


async def services(request: Request) -> HttpServices:
    svc = request.app.state.services
    assert isinstance(svc, HttpServices)
    return svc


__all__ = ["HttpServices", "NoteAdder", "NoteReceiptLike", "services"]
