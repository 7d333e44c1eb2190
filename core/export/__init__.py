"""Mail-merge campaign exports with an outbound gate.

Public API::

    MailmergeService(*, gateway, pii, settings)          # wired once per process (CLI, HTTP)
    service.check(ctx, request)                           # every check that needs no output
    service.run(ctx, request, out_dir, progress=None) -> Manifest
    MailmergeRequest(campaign, fields, template=None, channel="email", format="csv", template_name=None)
    OutboundGate / Letter / GateReason                    # the letter DLP gate (core.export.gate)

See docs/mailmerge.md for how to run a campaign.
"""

from __future__ import annotations

from core.export.gate import GateReason, Letter, LetterGate, OpenGate, OutboundGate
from core.export.mailmerge import MailmergeRequest, MailmergeService
from core.export.manifest import Manifest

__all__ = [
    "GateReason",
    "Letter",
    "LetterGate",
    "MailmergeRequest",
    "MailmergeService",
    "Manifest",
    "OpenGate",
    "OutboundGate",
]
