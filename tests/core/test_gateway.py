"""The governed read path: plans, row filters in SQL, masks, audit in the same transaction, fail closed."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing

import pytest
import sqlalchemy as sa

import core
from api.wiring import Hush
from core.errors import AccessDenied, AuditWriteError, InvalidPurposeError, NotFoundError
from core.gateway import AccessContext, CustomerRecord, NoteRecord
from core.records import CustomerInput


def seed(hush: Hush) -> None:
    for owner, ext in (("alice", "A1"), ("bob", "B1")):
        hush.writes.create(
            hush.context(owner, "service"),
            CustomerInput(
                external_id=ext,
                full_name="Jane Roe" if owner == "alice" else "John Doe",
                owner=owner,
                email=f"{owner}.customer@example.com",
                phone="+44 7700 900123",
            ),
        )


def events(hush: Hush) -> list[sa.Row[typing.Any]]:
    with hush.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM audit_events ORDER BY seq")))


def test_sales_reads_own_customer_and_it_is_audited(hush: Hush) -> None:
    seed(hush)
    ctx = hush.context("alice", "service")
    rec = hush.gateway.read_customer(ctx, "A1")
    assert rec.values["email"] == "alice.customer@example.com"
    last = events(hush)[-1]
    assert (last.subject, last.action, last.resource, last.decision, last.row_count) == (
        "alice",
        "read",
        "customer",
        "allow",
        1,
    )
    assert last.request_id == ctx.request_id
    assert "alice.customer" not in str(tuple(last))  # refs are HMACs, never plaintext


def test_idor_other_reps_customer_is_404_and_audited_as_denial(hush: Hush) -> None:
    seed(hush)
    with pytest.raises(NotFoundError):
        hush.gateway.read_customer(hush.context("alice", "service"), "B1")
    denials = [e for e in events(hush) if e.decision == "deny"]
    assert denials
    assert denials[-1].subject == "alice"
    assert "outside owned" in denials[-1].detail


def test_scan_applies_row_filter_in_sql(hush: Hush) -> None:
    seed(hush)
    statements: list[str] = []
    sa.event.listen(hush.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    got = [r.external_id for r in hush.gateway.scan_customers(hush.context("alice", "service"))]
    assert got == ["A1"]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "customers" in s]
    assert any("owner" in s.split("WHERE", 1)[1] for s in selects if "WHERE" in s)


def test_compliance_sees_partial_masks(hush: Hush) -> None:
    seed(hush)
    rec = hush.gateway.read_customer(hush.context("cora", "compliance"), "A1")
    assert rec.values["email"] != "alice.customer@example.com"
    assert rec.values["email"].endswith("@example.com")
    assert "*" in rec.values["email"]


def test_mailmerge_cannot_read_phone_and_denial_is_audited(hush: Hush) -> None:
    seed(hush)
    with pytest.raises(AccessDenied, match="phone"):
        hush.gateway.read_customer(hush.context("mailer", "marketing"), "A1", fields=["full_name", "phone"])
    assert events(hush)[-1].decision == "deny"


def test_wrong_purpose_for_role_is_denied(hush: Hush) -> None:
    seed(hush)
    with pytest.raises(AccessDenied):
        hush.gateway.read_customer(hush.context("alice", "marketing"), "A1")


def test_admin_sees_no_customer_data(hush: Hush) -> None:
    seed(hush)
    for purpose in ("service", "compliance", "marketing"):
        with pytest.raises(AccessDenied):
            hush.gateway.read_customer(hush.context("adm", purpose), "A1")


def test_unknown_purpose_rejected() -> None:
    with pytest.raises(InvalidPurposeError):
        AccessContext(subject="alice", roles=frozenset({"sales"}), purpose="curiosity")


def test_policy_exception_is_a_denial(hush: Hush, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(hush)

    def boom(**_: object) -> None:
        raise RuntimeError("casbin exploded")

    monkeypatch.setattr(hush.policies.current, "plan", boom)
    with pytest.raises(AccessDenied):
        hush.gateway.read_customer(hush.context("alice", "service"), "A1")
    assert events(hush)[-1].decision == "deny"


def test_fail_closed_when_audit_table_unwritable(hush: Hush) -> None:
    seed(hush)
    before = len(events(hush))
    with hush.engine.begin() as conn:
        if hush.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'blocked'); END"
            )
        else:
            conn.exec_driver_sql("REVOKE ALL ON audit_events FROM PUBLIC")
            conn.exec_driver_sql(
                "CREATE FUNCTION block_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'blocked'; END $$ "
                "LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION block_audit()"
            )
    returned: list[CustomerRecord] = []
    with pytest.raises(AuditWriteError):
        returned.append(hush.gateway.read_customer(hush.context("alice", "service"), "A1"))
    with pytest.raises(AuditWriteError):
        returned.extend(hush.gateway.scan_customers(hush.context("alice", "service")))
    assert returned == []
    assert len(events(hush)) == before


PLAINTEXT_TYPES = (CustomerRecord, NoteRecord)


def _mentions_plaintext(annotation: object) -> bool:
    if annotation in PLAINTEXT_TYPES:
        return True
    return any(_mentions_plaintext(a) for a in typing.get_args(annotation))


def test_every_public_core_function_returning_customer_data_needs_an_access_context() -> None:
    """Walk every public function and method of `core`; plaintext-bearing returns need AccessContext."""
    checked = 0
    for info in pkgutil.walk_packages(core.__path__, "core."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            candidates = [obj] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                candidates += [
                    m for n, m in vars(obj).items() if inspect.isfunction(m) and not n.startswith("_")
                ]
            for fn in candidates:
                try:
                    hints = typing.get_type_hints(fn)
                except Exception:  # noqa: S112 - unresolvable hints cannot return our types
                    continue
                if _mentions_plaintext(hints.get("return")):
                    checked += 1
                    params = [v for k, v in hints.items() if k != "return"]
                    assert AccessContext in params, (
                        f"{module.__name__}.{fn.__qualname__} returns data without AccessContext"
                    )
    assert checked >= 4  # read_customer, find_customers, scan_customers, read_notes


def test_scan_batches_are_audited_before_they_are_handed_out(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    rows = [(i, CustomerInput(external_id=f"S{i}", full_name=f"P {i}", owner="alice")) for i in range(25)]
    hush.writes.import_customers(ctx, rows)
    before = len(events(hush))
    scan = hush.gateway.scan_customers(ctx, batch_size=10)
    first = [next(scan) for _ in range(12)]  # two batches handed out, then the consumer stops
    scan.close()
    reads = [e for e in events(hush)[before:] if e.action == "read"]
    assert len(first) == 12
    assert [e.row_count for e in reads] == [10, 10]  # both handed-out batches are on record
