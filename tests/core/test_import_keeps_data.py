"""Nothing lost at import: a value that fails its format check keeps its row (issue 14, item 5).

An email or phone that does not normalise is stored as given (encrypted, not
blind-indexed) and reported as a warning; a phone becomes E.164 (and indexed)
where a region hint makes it valid.  Checked through the import, the CLI, the
HTTP API and ``hushdb profile quality``, on both databases.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.wiring import Hush, open_store
from core.config import load_settings
from core.crypto import address_region, resolve_phone
from core.csv_import import customer_rows
from core.models import customers_t
from core.store import KEPT_AS_GIVEN

if str(Path(__file__).parents[1] / "http") not in sys.path:
    sys.path.insert(0, str(Path(__file__).parents[1] / "http"))

from http_tools import make_api

runner = CliRunner()

HEADER = (
    "external_id,full_name,email,phone,postal_address,birth_date,owner,consent_marketing_email,"
    "consent_marketing_post,consent_profiling\n"
)
CN_MOBILE = "13912345678"  # a Chinese mobile without +86, under the default region GB
OUTDATED = "+234 1 234 5678"  # Lagos before Nigeria's numbering change: not a possible number today
BAD_EMAIL = "jane.at.example.org"

ROWS = [  # file line 2 onwards
    "K-1,Wang Fang,wang@example.cn,13912345678,,1980-02-03,,,,yes\n",  # CN mobile: normalised, no warning
    "K-2,Ade Obi,ade@example.ng,+234 1 234 5678,,,,,,yes\n",  # outdated: kept as given, warning
    f"K-3,Jane Roe,{BAD_EMAIL},+44 7700 900123,,,,,,yes\n",  # email kept as given, warning
    'K-4,Sam Lee,sam@example.com,(202) 555-0143,"1 Main St, Washington DC, United States",,,,,yes\n',
    "K-5,Bad Date,bad@example.com,+44 7700 900124,,03/04/1990,,,,yes\n",  # refused whole: a guess
    "K-6,Bad Consent,bc@example.com,+44 7700 900125,,,,maybe,,yes\n",  # refused whole
    "K-7,Both Kept,both@@x,+234 1 234 5678,,,,,,yes\n",  # two warnings on one line
]


# -- the region rule (pure) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "region", "address", "expected"),
    [
        ("+44 7700 900123", "GB", None, "+447700900123"),  # unchanged: the default region
        ("020 7946 0018", "GB", None, "+442079460018"),
        (CN_MOBILE, "GB", None, "+8613912345678"),  # valid in exactly one hint region (CN)
        ("139 1234 5678", "GB", "浦东新区, 上海市, 中国", "+8613912345678"),  # the address names China
        ("8613912345678", "GB", None, "+8613912345678"),  # international without its +
        ("(202) 555-0143", "GB", "1 Main St, Washington DC, United States", "+12025550143"),
        ("06 12 34 56 78", "GB", "5 rue de la Paix, 75002 Paris, France", "+33612345678"),
        (OUTDATED, "GB", None, None),  # its country is stated: never re-read under another one
        (OUTDATED, "GB", "Lagos, Nigeria", None),
        ("2025550143", "FR", None, None),  # valid in both US and CN: ambiguous, not guessed
        ("12", "GB", None, None),
        ("call reception", "GB", None, None),
    ],
)
def test_resolve_phone_uses_default_then_address_then_unique_hint(
    value: str, region: str, address: str | None, expected: str | None
) -> None:
    assert resolve_phone(value, region, address=address) == expected


def test_address_region_reads_the_country_part_only() -> None:
    assert address_region("1 Main St, Springfield, United States") == "US"
    assert address_region("中国\n上海市") == "CN"
    assert address_region("12 France Street, Leeds LS1 1AA") is None  # a street name, not the country
    assert address_region(None) is None and address_region("  ,  ") is None


# -- import ----------------------------------------------------------------------------------


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    f = tmp_path / "customers.csv"
    f.write_text(HEADER + "".join(rows), encoding="utf-8")
    return f


def _stored(hush: Hush, external_id: str) -> Any:
    with hush.engine.connect() as conn:
        return conn.execute(
            sa.select(customers_t.c.phone_ct, customers_t.c.phone_bidx, customers_t.c.email_bidx).where(
                customers_t.c.external_id == external_id
            )
        ).one()


def test_import_keeps_rows_whose_contact_fields_do_not_normalise(hush: Hush, tmp_path: Path) -> None:
    ctx = hush.context("alice", "service")
    report = hush.writes.import_customers(ctx, customer_rows(_csv(tmp_path, ROWS), default_owner="alice"))
    assert report.imported == 5
    assert [(e.line, e.reason) for e in report.rejected] == [
        (6, "birth_date is not an ISO 8601 date"),
        (7, "consent_marketing_email must be true/false, yes/no or 1/0"),
    ]
    assert [(w.line, w.field, w.reason) for w in report.warnings] == [
        (3, "phone", KEPT_AS_GIVEN["phone"]),
        (4, "email", KEPT_AS_GIVEN["email"]),
        (8, "email", KEPT_AS_GIVEN["email"]),
        (8, "phone", KEPT_AS_GIVEN["phone"]),
    ]
    doc = report.to_dict()
    assert doc["warnings"][0] == {"line": 3, "field": "phone", "reason": KEPT_AS_GIVEN["phone"]}
    text = json.dumps(doc)
    assert OUTDATED not in text and BAD_EMAIL not in text  # never a value

    read = hush.gateway.read_customer
    assert read(ctx, "K-1").values["phone"] == "+8613912345678"
    assert read(ctx, "K-2").values["phone"] == OUTDATED  # kept exactly as typed
    assert read(ctx, "K-3").values["email"] == BAD_EMAIL
    assert read(ctx, "K-4").values["phone"] == "+12025550143"  # the address named the country
    # Normalised values are indexed and found; values kept as given are not indexed.
    assert [r.values["external_id"] for r in hush.gateway.find_customers(ctx, phone="+86 139 1234 5678")] == [
        "K-1"
    ]
    assert [r.values["external_id"] for r in hush.gateway.find_customers(ctx, phone="+1 202-555-0143")] == [
        "K-4"
    ]
    # A look-up reads the number as the import did: the national form finds the CN customer too.
    assert [r.values["external_id"] for r in hush.gateway.find_customers(ctx, phone=CN_MOBILE)] == ["K-1"]
    k2, k3 = _stored(hush, "K-2"), _stored(hush, "K-3")
    assert k2.phone_ct is not None and k2.phone_bidx is None and k2.email_bidx is not None
    assert k3.email_bidx is None and k3.phone_bidx is not None
    assert OUTDATED.encode() not in bytes(k2.phone_ct)  # encrypted as any other value


def test_create_and_update_keep_the_value_and_warn(hush: Hush) -> None:
    ctx = hush.context("alice", "service")
    from core.records import CustomerChanges, CustomerInput

    created = hush.writes.create(
        ctx, CustomerInput(external_id="C-1", full_name="Ade Obi", owner="alice", phone=OUTDATED)
    )
    assert [(w.field, w.reason) for w in created.warnings] == [("phone", KEPT_AS_GIVEN["phone"])]
    assert hush.gateway.read_customer(ctx, "C-1").values["phone"] == OUTDATED
    assert hush.writes.update(ctx, "C-1", CustomerChanges(phone=CN_MOBILE)) == ()
    assert _stored(hush, "C-1").phone_bidx is not None
    warned = hush.writes.update(ctx, "C-1", CustomerChanges(email=BAD_EMAIL, phone="+44 7700 900999"))
    assert [w.field for w in warned] == ["email"]
    assert _stored(hush, "C-1").email_bidx is None


# -- HTTP ------------------------------------------------------------------------------------


def test_http_create_and_update_return_warnings_without_values(hush: Hush) -> None:
    api = make_api(hush)
    with api.client:
        r = api.post(
            "/customers",
            "alice",
            "service",
            json={"external_id": "H-1", "full_name": "Ade", "phone": OUTDATED},
        )
        assert r.status_code == 201, r.text
        assert r.json()["warnings"] == [{"field": "phone", "reason": KEPT_AS_GIVEN["phone"]}]
        assert "234" not in r.text
        assert api.get("/customers/H-1", "alice", "service").json()["phone"] == OUTDATED
        r = api.post(
            "/customers",
            "alice",
            "service",
            json={"external_id": "H-2", "full_name": "Wang", "phone": CN_MOBILE},
        )
        assert r.status_code == 201 and r.json()["warnings"] == []
        found = api.get("/customers", "alice", "service", params={"phone": "+8613912345678"}).json()
        assert [c["external_id"] for c in found["customers"]] == ["H-2"]
        r = api.patch("/customers/H-2", "alice", "service", json={"email": BAD_EMAIL})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "external_id": "H-2",
            "updated": ["email"],
            "warnings": [{"field": "email", "reason": KEPT_AS_GIVEN["email"]}],
        }
        assert BAD_EMAIL not in r.text
        r = api.patch("/customers/H-2", "alice", "service", json={"email": "wang@example.cn"})
        assert r.json() == {"external_id": "H-2", "updated": ["email"]}  # no warnings: none listed


# -- CLI and profile quality -------------------------------------------------------------------


def _run(d: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(d)], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_import_warns_exits_0_and_quality_lists_phones_kept_as_given(
    tmp_path: Path, database_url: str
) -> None:
    env = {"HUSHDB_DATABASE_URL": database_url}
    d = tmp_path / "home"
    assert _run(d, env, "init")[0] == 0
    only_warnings = [r for r in ROWS if not r.startswith(("K-5", "K-6"))]
    code, out, err = _run(d, env, "customers", "import", str(_csv(tmp_path, only_warnings)), "--as", "alice")
    assert code == 0, err  # warnings alone are not a failure
    assert "imported 5 customers, rejected 0, kept 3 with warnings" in out
    assert [line for line in err.splitlines() if line.startswith("line ")] == [
        f"line 3: warning: phone: {KEPT_AS_GIVEN['phone']}",
        f"line 4: warning: email: {KEPT_AS_GIVEN['email']}",
        f"line 6: warning: email: {KEPT_AS_GIVEN['email']}",
        f"line 6: warning: phone: {KEPT_AS_GIVEN['phone']}",
    ]
    assert OUTDATED not in err + out and BAD_EMAIL not in err + out

    more = ["J-1,Jo,jo@example.com,+234 1 234 5678,,,,,,yes\n", "J-2,Al,bad address,1 ,,2999-01-01,,,,\n"]
    code, out, err = _run(d, env, "customers", "import", str(_csv(tmp_path, more)), "--as", "alice", "--json")
    assert code == 3, err  # a refused row still fails the import
    report = json.loads(out)
    assert report["imported"] == 1
    assert report["rejected"] == [{"line": 3, "reason": "birth_date is in the future"}]
    assert report["warnings"] == [{"line": 2, "field": "phone", "reason": KEPT_AS_GIVEN["phone"]}]

    code, out, err = _run(d, env, "profile", "quality", "--as", "ana", "--json")
    assert code == 0, err
    quality = json.loads(out)
    hush = open_store(load_settings(d, env=env))
    try:
        with hush.engine.connect() as conn:
            rows = conn.execute(sa.select(customers_t.c.external_id, customers_t.c.pseudonym)).all()
    finally:
        hush.close()
    pseudonyms = {str(r[0]): str(r[1]) for r in rows}
    not_normalised = sorted(i["customer"] for i in quality["invalid"] if i["rule"] == "not_normalised")
    assert not_normalised == sorted(pseudonyms[e] for e in ("K-2", "K-7", "J-1"))
    assert {i["field"] for i in quality["invalid"] if i["rule"] == "not_normalised"} == {"phone"}
    malformed = sorted(
        i["customer"] for i in quality["invalid"] if (i["field"], i["rule"]) == ("email", "malformed")
    )
    assert malformed == sorted(pseudonyms[e] for e in ("K-3", "K-7"))
    assert OUTDATED not in out and BAD_EMAIL not in out and "13912345678" not in out
