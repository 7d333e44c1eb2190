"""hushdb's append-only, tamper-evident audit log (DESIGN.md invariant 6).

Imports nothing of hushdb except :mod:`core.errors`.  Modules:

``events``       AuditEvent and the canonical serialisation / hash
``refs``         RecordRefs: HMAC references of records (never plaintext)
``tables``       audit_metadata and the four audit tables
``refindex``     the record-reference index: append-mostly partitions, lookup, verification
``log``          AuditLog: append / append_many / head / checkpoint / publish_checkpoints
``signing``      the Ed25519 checkpoint key (file, mode 0600)
``checkpoints``  Checkpoint and the external checkpoints.jsonl sink
``verify``       verify / verify_engine -> VerifyReport
``queries``      events / access_report (GDPR Art. 15(1)(c))
``interfaces``   Protocols; ``memory``: in-memory fakes for other packages' tests
"""

from audit.checkpoints import Checkpoint, JsonlCheckpointSink
from audit.events import AuditEvent
from audit.log import AuditLog
from audit.memory import InMemoryAuditSink, InMemoryCheckpointSink
from audit.refs import RecordRefs
from audit.signing import Ed25519Signer, load_or_create_signer, load_public_key, load_signer
from audit.verify import VerifyReport, verify, verify_engine

__all__ = [
    "AuditEvent",
    "AuditLog",
    "Checkpoint",
    "Ed25519Signer",
    "InMemoryAuditSink",
    "InMemoryCheckpointSink",
    "JsonlCheckpointSink",
    "RecordRefs",
    "VerifyReport",
    "load_or_create_signer",
    "load_public_key",
    "load_signer",
    "verify",
    "verify_engine",
]
