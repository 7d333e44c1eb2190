"""Request and response bodies of the HTTP API (pydantic models; they are the OpenAPI document).

Field names are those of the customer schema and the policy vocabulary.  Out
of the gateway, every value is optional: a field the caller's plan does not
allow is absent, one it withholds (mask ``none``) is null, masked ones are
strings in their masked form (so ``birth_date`` is a string, not a date).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ExternalId = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9\-_.:]+$")
Text = Annotated[str, Field(max_length=1000)]
ClearableField = Literal["email", "phone", "postal_address", "birth_date"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- customers ---------------------------------------------------------------------------


class CustomerIn(_In):
    """A customer to create.  ``owner`` defaults to the caller (a sales rep may only own their own)."""

    external_id: str = ExternalId
    full_name: str = Field(min_length=1, max_length=1000)
    owner: str | None = Field(default=None, min_length=1, max_length=128)
    email: Text | None = None
    phone: Text | None = None
    postal_address: Text | None = None
    birth_date: dt.date | None = None
    consent_marketing_email: bool | None = None
    consent_marketing_post: bool | None = None
    consent_profiling: bool | None = None
    do_not_contact: bool = False
    deceased: bool = False


class FieldWarning(_Out):
    """A field stored as given (it failed its format check): not normalised, not indexed.  Never the value."""

    field: str
    reason: str


class CustomerCreated(_Out):
    external_id: str
    pseudonym: str
    under_review: bool = Field(description="True when a name or address field holds sensitive content.")
    warnings: list[FieldWarning] = Field(
        default_factory=list,
        description="Email or phone stored as given (not normalised, not found by look-ups); the customer is kept.",
    )


class CustomerPatch(_In):
    """A partial update: absent fields are unchanged; ``clear`` empties optional fields."""

    full_name: str | None = Field(default=None, min_length=1, max_length=1000)
    email: Text | None = None
    phone: Text | None = None
    postal_address: Text | None = None
    birth_date: dt.date | None = None
    do_not_contact: bool | None = None
    deceased: bool | None = None
    clear: list[ClearableField] = Field(default_factory=list, max_length=4)


class Consents(_Out):
    marketing_email: bool
    marketing_post: bool
    profiling: bool


class Suppression(_Out):
    do_not_contact: bool
    deceased: bool
    under_review: bool


class CustomerOut(_Out):
    """A customer as the caller's access plan lets them see it (only the plan's fields)."""

    external_id: str | None = None
    pseudonym: str | None = None
    full_name: str | None = None
    email: str | None = None
    phone: str | None = None
    postal_address: str | None = None
    birth_date: str | None = None
    owner: str | None = None
    consent: Consents | None = None
    suppression: Suppression | None = None
    created_at: str | None = None


class CustomerList(_Out):
    customers: list[CustomerOut]
    count: int


class UpdateReceipt(_Out):
    external_id: str
    updated: list[str] = Field(description="Names of the fields that were changed (never their values).")
    warnings: list[FieldWarning] = Field(
        default_factory=list,
        description="Email or phone stored as given (not normalised, not found by look-ups).",
    )


class ConsentsIn(_In):
    """Consent changes; absent keys are unchanged.  At least one is required."""

    marketing_email: bool | None = None
    marketing_post: bool | None = None
    profiling: bool | None = None
    source: str = Field(default="api", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:-]+$")


class ReviewReceipt(_Out):
    external_id: str
    under_review: Literal[False]
    audit_seq: int


class ErasureCoverage(_Out):
    live_data: bool = Field(
        description="The live database (and its write-ahead log): the data key is destroyed."
    )
    data_backups: bool = Field(
        description="Every data backup, old or new: backups hold no data keys, so the person stays unreadable."
    )
    keystore_backups_older_than_days: int = Field(
        description="Key-store backups older than this many days (their retention) no longer hold the key."
    )
    keystore_backups_clear_at: str = Field(
        description="When the last key-store backup that still holds the key expires."
    )
    profiling_results: bool = Field(
        description="Profiling results (segment, lifetime value, churn, recommendations) held under the pseudonym."
    )
    exports_held_by_server: bool = Field(
        description="Finished exports the server still holds: the person's rows and letters are removed."
    )
    exports_written_with_out: bool = Field(
        description="Exports written elsewhere with `--out` are the operator's files and are not reached."
    )


class ErasureReceiptOut(_Out):
    external_id: str
    pseudonym: str
    erased_at: str
    audit_seq: int = Field(description="Sequence number of the erasure's audit event.")
    backups_protected: bool = Field(description="Data backups keep the person unreadable (always true).")
    covers: ErasureCoverage = Field(description="What the erasure reaches, by kind of copy.")
    resumed: bool = Field(description="This request finished an erasure that an interrupted one started.")
    profiling_results_deleted: int = Field(description="Profiling results deleted with the person.")
    exports_reached: int = Field(description="Held exports from which the person was removed.")
    export_rows_removed: int = Field(description="Recipient rows removed from held exports.")


# -- notes -------------------------------------------------------------------------------


class NoteIn(_In):
    text: str = Field(min_length=1, description="The note; at most HUSHDB_NOTE_MAX_BYTES bytes of UTF-8.")


class Finding(_Out):
    """What was found and where (character offsets), never the matched text."""

    type: str
    category: str | None = None
    start: int
    end: int


class NoteReceiptOut(_Out):
    note_id: str
    sensitivity: Literal["none", "personal", "sensitive"]
    labels: list[str]
    findings: list[Finding]


class NoteOut(_Out):
    note_id: str
    sensitivity: str | None = None
    author: str | None = None
    created_at: str | None = None
    labels: list[str] | None = None
    findings: list[Finding] | None = None
    body: str | None = None


class NoteList(_Out):
    external_id: str
    notes: list[NoteOut]


# -- audit and compliance ----------------------------------------------------------------


class AuditEventOut(_Out):
    seq: int
    ts: str
    subject: str
    roles: list[str]
    purpose: str
    action: str
    resource: str
    fields: list[str]
    decision: str
    request_id: str
    row_count: int | None = None
    record_refs: list[str] | None = None
    detail: dict[str, str | int | bool | None] | None = None
    prev_hash: str | None = None
    hash: str | None = None


class AuditEventList(_Out):
    events: list[AuditEventOut]
    count: int


class VerifyOut(_Out):
    ok: bool
    events_checked: int
    first_bad_seq: int | None
    reason: str
    checkpoints_checked: int
    last_signed_seq: int
    unsigned_tail: int
    head_seq: int


class AccessReportOut(_Out):
    external_id: str
    events: list[AuditEventOut]


class ConsentEventOut(_Out):
    purpose: str
    granted: bool
    at: str
    source: str


class ConsentHistory(_Out):
    current: Consents | None
    history: list[ConsentEventOut]


class TransactionOut(_Out):
    occurred_at: str | None = None
    amount: str | None = None
    currency: str | None = None
    product: str | None = None
    category: str | None = None


class ProfilingResultOut(_Out):
    """One profiling result stored under the person's pseudonym (segment, lifetime value, churn, ...)."""

    kind: str
    run_id: str
    run_at: str
    code_version: str
    label: str | None = None
    score: float | None = None
    data: Any = None


class DataExportOut(_Out):
    """Everything held about one person (GDPR Art. 15 and 20)."""

    format: str
    generated_at: str
    generated_by: str
    request_id: str
    external_id: str
    pseudonym: str
    customer: dict[str, Any]
    consents: ConsentHistory
    notes: list[NoteOut]
    transactions: list[TransactionOut]
    profiling: list[ProfilingResultOut] = Field(
        default_factory=list, description="Profiling results held under the person's pseudonym."
    )
    access_report: list[AuditEventOut]


# -- exports (mail-merge jobs) -----------------------------------------------------------


class MailmergeJobIn(_In):
    campaign: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    fields: list[str] = Field(min_length=1, max_length=32)
    template: str | None = Field(default=None, max_length=65536, description="A Jinja2 template (text).")
    channel: Literal["email", "post"] = "post"
    format: Literal["csv", "jsonl"] = "csv"


JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobError(_Out):
    status: int
    title: str
    detail: str | None = None


class JobOut(_Out):
    job_id: str
    status: JobStatus
    campaign: str
    created_at: str
    finished_at: str | None = None
    error: JobError | None = None
    manifest: dict[str, Any] | None = None
    files: list[str] = Field(default_factory=list)


# -- health ------------------------------------------------------------------------------


class HealthOut(_Out):
    status: Literal["ok"]
    version: str
