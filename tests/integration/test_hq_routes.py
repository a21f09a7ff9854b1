# ruff: noqa: E501 - one route per line reads best
"""HQ's API as its OpenAPI document describes it: the same routes, answers and operations
however the routers are arranged, and one error schema named by every refusal."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import fastapi.routing
import httpx
import pytest

from fieldtech.hq import auth, routers
from fieldtech.hq.api import create_app

pytestmark = pytest.mark.integration

# (path, method) -> (tag, operationId, documented status codes). Written down from the
# document HQ served before its routes were split into routers; a change here is a change
# of the API that generated clients see.
ROUTES: dict[tuple[str, str], tuple[str, str, tuple[int, ...]]] = {
    ("/v1/devices", "GET"): ("users", "list_devices_v1_devices_get", (200, 401, 403)),
    ("/v1/devices/{device_id}/revoke", "POST"): (
        "users",
        "revoke_device_v1_devices__device_id__revoke_post",
        (200, 401, 403, 404, 422),
    ),
    ("/v1/enroll", "POST"): ("devices", "enroll_v1_enroll_post", (200, 400, 401, 422)),
    ("/v1/devices/key", "PUT"): (
        "bundles",
        "offer_key_v1_devices_key_put",
        (200, 400, 401, 403, 409, 422),
    ),
    ("/v1/bundles", "POST"): ("bundles", "carry_bundle_v1_bundles_post", (200, 400, 401, 413)),
    ("/v1/escalations/run", "POST"): (
        "service",
        "run_escalations_now_v1_escalations_run_post",
        (200, 400, 401, 403, 422),
    ),
    ("/v1/jobs", "GET"): ("dispatch", "list_jobs_v1_jobs_get", (200, 401, 422)),
    ("/v1/jobs", "POST"): ("dispatch", "create_job_v1_jobs_post", (201, 400, 401, 403, 404, 422)),
    ("/v1/jobs/import", "POST"): (
        "dispatch",
        "import_jobs_v1_jobs_import_post",
        (200, 400, 401, 403, 413),
    ),
    ("/v1/jobs/{job_id}", "GET"): (
        "dispatch",
        "get_job_v1_jobs__job_id__get",
        (200, 401, 404, 422),
    ),
    ("/v1/jobs/{job_id}/assign", "POST"): (
        "dispatch",
        "assign_v1_jobs__job_id__assign_post",
        (200, 400, 401, 403, 404, 409, 422),
    ),
    ("/v1/jobs/{job_id}/callback", "POST"): (
        "service",
        "record_callback_v1_jobs__job_id__callback_post",
        (201, 400, 401, 403, 404, 409, 422),
    ),
    ("/v1/jobs/{job_id}/cancel", "POST"): (
        "dispatch",
        "cancel_v1_jobs__job_id__cancel_post",
        (200, 400, 401, 403, 404, 409, 422),
    ),
    ("/v1/jobs/{job_id}/report", "GET"): (
        "service",
        "service_report_v1_jobs__job_id__report_get",
        (200, 401, 404, 422),
    ),
    ("/v1/me", "GET"): ("meta", "me_v1_me_get", (200, 401)),
    ("/v1/files/{sha256}", "HEAD"): (
        "attachments",
        "file_offset_v1_files__sha256__head",
        (200, 401, 404, 422),
    ),
    ("/v1/files/{sha256}", "PATCH"): (
        "attachments",
        "file_chunk_v1_files__sha256__patch",
        (204, 400, 401, 404, 409, 413, 422),
    ),
    ("/v1/files/{sha256}", "GET"): (
        "attachments",
        "file_download_v1_files__sha256__get",
        (200, 400, 401, 404, 409, 422),
    ),
    ("/v1/openapi.json", "GET"): ("meta", "openapi_document_v1_openapi_json_get", (200, 401)),
    ("/v1/part-requests", "GET"): (
        "parts",
        "list_part_requests_v1_part_requests_get",
        (200, 401, 422),
    ),
    ("/v1/part-requests/{request_id}/approve", "POST"): (
        "parts",
        "approve_v1_part_requests__request_id__approve_post",
        (200, 400, 401, 403, 404, 409, 422),
    ),
    ("/v1/part-requests/{request_id}/reject", "POST"): (
        "parts",
        "reject_v1_part_requests__request_id__reject_post",
        (200, 400, 401, 403, 404, 409, 422),
    ),
    ("/v1/part-requests/{request_id}/ship", "POST"): (
        "parts",
        "ship_v1_part_requests__request_id__ship_post",
        (200, 400, 401, 403, 404, 409, 422),
    ),
    ("/v1/parts", "GET"): ("catalogue", "list_parts_v1_parts_get", (200, 401, 422)),
    ("/v1/parts", "POST"): (
        "catalogue",
        "upload_parts_v1_parts_post",
        (200, 400, 401, 403, 409, 413),
    ),
    ("/v1/plan/maintenance", "POST"): (
        "service",
        "plan_maintenance_v1_plan_maintenance_post",
        (200, 400, 401, 403, 422),
    ),
    ("/v1/reports/kpis", "GET"): ("service", "kpis_v1_reports_kpis_get", (200, 401, 403, 422)),
    ("/v1/sync", "POST"): ("sync", "sync_v1_sync_post", (200, 400, 401, 403, 413, 422)),
    ("/v1/wait", "GET"): ("sync", "wait_v1_wait_get", (200, 401, 422)),
    ("/v1/sync/checksum", "GET"): ("sync", "sync_checksum_v1_sync_checksum_get", (200, 401)),
    ("/v1/technicians/{technician_id}/day", "GET"): (
        "service",
        "day_v1_technicians__technician_id__day_get",
        (200, 400, 401, 403, 404, 422),
    ),
    ("/v1/templates", "POST"): (
        "catalogue",
        "upload_template_v1_templates_post",
        (200, 400, 401, 403, 413),
    ),
    ("/v1/users", "GET"): ("users", "list_users_v1_users_get", (200, 401, 403)),
    ("/v1/users", "POST"): ("users", "add_user_v1_users_post", (201, 400, 401, 403, 422)),
    ("/v1/users/{user_id}/enrollment", "POST"): (
        "users",
        "new_enrollment_v1_users__user_id__enrollment_post",
        (201, 401, 403, 404, 422),
    ),
}

# Request and answer models the document named before the split (the error schema joins them).
MODELS = {
    "AssignIn", "CallbackIn", "EnrollIn", "EnrolledOut", "EnrolledUser", "EscalateIn", "ImportOut",
    "ImportRejection", "ItemIn", "ItemType", "JobIn", "MeOut", "OptionalReasonIn", "OutOfRange",
    "PartIn", "PlanIn", "ReasonIn", "Rejection", "SyncResponse", "TemplateSaved", "UserIn", "WireOpIn",
}  # fmt: skip

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
def document(world) -> dict:
    auth.add_user(world.hq, name="Admin", role="admin", user_id="admin")
    token = auth.admin_token(world.hq, "admin")
    r = httpx.get(
        world.server.url + "/v1/openapi.json",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 200
    return r.json()


def operations(doc: dict) -> dict[tuple[str, str], dict]:
    return {
        (path, method.upper()): op
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
    }


def test_the_document_describes_the_same_routes(document):
    ops = operations(document)
    assert set(ops) == set(ROUTES)
    for key, (tag, operation_id, codes) in ROUTES.items():
        op = ops[key]
        assert op["tags"] == [tag], key
        assert op["operationId"] == operation_id, key
        assert tuple(sorted(int(s) for s in op["responses"])) == codes, key
    assert set(document["components"]["schemas"]) >= MODELS


def test_every_refusal_names_the_one_error_schema(document):
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["detail"]
    assert problem["properties"]["detail"]["type"] == "string"
    for key, op in operations(document).items():
        for status, answer in op["responses"].items():
            if status.startswith("4"):
                assert answer["content"] == {"application/json": {"schema": PROBLEM}}, (
                    key,
                    status,
                )
                assert answer["description"], (key, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_a_refusal_answers_as_documented(world, document):
    """The schema the document names is what a refusal says: one line of detail."""
    anonymous = httpx.get(world.server.url + "/v1/me", timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert set(anonymous.json()) == {"detail"} and anonymous.json()["detail"]


def test_every_route_lives_in_a_small_router_module():
    app = create_app(None)  # type: ignore[arg-type]
    # Newer FastAPI keeps an included router whole in app.routes; this flattens it.
    every = getattr(fastapi.routing, "iter_route_contexts", iter)(app.routes)
    modules = {r.endpoint.__module__ for r in every if (r.path or "").startswith("/v1/")}
    assert modules and all(m.startswith("fieldtech.hq.routers.") for m in modules)
    for path in Path(routers.__file__).parent.glob("*.py"):
        assert len(path.read_text().splitlines()) < 200, path.name
    factory = ast.parse(inspect.getsource(create_app)).body[0]
    assert factory.end_lineno - factory.lineno < 60  # it assembles, it holds no routes
