"""The app against its own OpenAPI document: schemathesis, bounded, inside the suite.

Every operation gets a few generated requests (with a sales key, and with a
dpo key); no response may be a 5xx, and every response must match the status
codes, content types, headers and bodies that the document declares.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import APIRouter, FastAPI
from http_tools import Api, make_api
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as oa_checks

CHECKS = [
    st_checks.not_a_server_error,
    oa_checks.status_code_conformance,
    oa_checks.content_type_conformance,
    oa_checks.response_headers_conformance,
    oa_checks.response_schema_conformance,
]
MAX_EXAMPLES = 6


def run_schemathesis(app: FastAPI, headers: dict[str, str]) -> list[str]:
    """Failures as "METHOD /path: first line", one per failing operation."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            failures.append(f"{operation.label}: {str(exc).strip().splitlines()[0]}")
    return failures


@pytest.mark.parametrize(("subject", "purpose"), [("alice", "service"), ("dana", "erasure")])
def test_schemathesis_finds_no_5xx_and_no_schema_violation(api: Api, subject: str, purpose: str) -> None:
    api.create_customer("alice", "S-1", email="s1@example.com")
    assert run_schemathesis(api.app, api.headers(subject)) == []


def test_the_schemathesis_run_would_catch_a_broken_route(hush: Any) -> None:
    """The run above is not vacuous: a route that breaks its own schema, or fails, is reported."""
    broken = APIRouter()

    @broken.get("/broken/schema", response_model=dict[str, int])
    def wrong_body() -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"a": "not an int"})

    @broken.get("/broken/crash")
    def crash() -> dict[str, int]:
        raise RuntimeError("boom")

    api = make_api(hush, extra_routers=[broken])
    failures = run_schemathesis(api.app, api.headers("alice"))
    assert [f.split(":")[0] for f in failures] == ["GET /broken/schema", "GET /broken/crash"]


def test_openapi_describes_every_body_and_every_error_as_problem_json(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            if method in ("post", "put", "patch") and path not in (
                "/customers/{external_id}/review",
                "/admin/policy/reload",
            ):
                assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"], where
            ok = [s for s in op["responses"] if s.startswith("2")]
            assert len(ok) == 1, where
            content = op["responses"][ok[0]]["content"]
            if "application/json" in content and not path.endswith("/files/{name}"):
                assert content["application/json"]["schema"].get("$ref"), where
            if path != "/health":
                assert {"400", "401", "403", "404", "422", "500"} <= set(op["responses"]), where
                for status in ("401", "403", "422"):
                    assert list(op["responses"][status]["content"]) == ["application/problem+json"], where
                assert any(p["name"] == "X-Purpose" for p in op.get("parameters", [])), where
                assert op.get("security"), where
