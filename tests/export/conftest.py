"""Helpers for mail-merge tests: a wired store with customers in known states."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest

from api.wiring import Hush
from core.db import transaction
from core.export import MailmergeService
from core.records import CustomerInput


@pytest.fixture
def store(hush: object) -> Hush:
    return cast(Hush, hush)


@pytest.fixture
def service(store: Hush) -> MailmergeService:
    return MailmergeService(gateway=store.gateway, pii=None, settings=store.settings)


def add_customers(h: Hush, customers: Iterable[CustomerInput]) -> None:
    ctx = h.context("alice", "service")
    report = h.writes.import_customers(ctx, enumerate(customers, start=2))
    assert not report.rejected, [r.reason for r in report.rejected]


def customer(ext: str, **kw: Any) -> CustomerInput:
    base: dict[str, Any] = {
        "external_id": ext,
        "full_name": f"Ann {ext}",
        "owner": "alice",
        "email": f"{ext.lower()}@example.com",
        "postal_address": "12 King Street, Leeds LS1 4AP",
        "consent_marketing_email": True,
        "consent_marketing_post": True,
    }
    base.update(kw)
    return CustomerInput(**base)


def set_review(h: Hush, ext: str, flag: bool) -> None:
    from core.models import customers_t

    with transaction(h.engine) as conn:
        cid = conn.execute(customers_t.select().where(customers_t.c.external_id == ext)).one().id
        h.gateway.store.set_review(conn, cid, under_review=flag, reason="test")


def pseudonym_of(h: Hush, ext: str) -> str:
    from core.models import customers_t

    with h.engine.connect() as conn:
        return str(conn.execute(customers_t.select().where(customers_t.c.external_id == ext)).one().pseudonym)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
