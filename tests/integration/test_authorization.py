"""Every endpoint × every role and a foreign technician: who may do what, and zero leaks."""

from __future__ import annotations

import json
import os
import stat

import httpx
import pytest

from fieldtech.hq import auth
from fieldtech.hq.api import create_app
from fieldtech.sync import protocol
from tests.integration.world import World

ROLES = (
    "anonymous",
    "garbage",
    "revoked",
    "owner",
    "teammate",
    "other_team",
    "supervisor",
    "other_supervisor",
    "admin",
)

# Expected outcome per endpoint: role -> "ok" | status code. Missing roles: see DEFAULTS.
A = "ok"
MATRIX: dict[str, dict[str, object]] = {
    "GET /v1/openapi.json": {r: A for r in ROLES[3:]},
    "GET /v1/me": {r: A for r in ROLES[3:]},
    "POST /v1/enroll": {},  # authenticated by a one-time code: tested on its own below
    "POST /v1/sync": {r: A for r in ROLES[3:]},
    "GET /v1/sync/checksum": {r: A for r in ROLES[3:]},
    "POST /v1/users": {"admin": A},
    "GET /v1/users": {"supervisor": A, "other_supervisor": A, "admin": A},
    "POST /v1/users/{user_id}/enrollment": {"admin": A},
    "GET /v1/devices": {"admin": A},
    "POST /v1/devices/{device_id}/revoke": {"admin": A},
    "POST /v1/jobs": {"supervisor": A, "admin": A},
    "GET /v1/jobs": {r: A for r in ROLES[3:]},
    "GET /v1/jobs/{job_id}": {
        "owner": A,
        "supervisor": A,
        "admin": A,
        "teammate": 404,
        "other_team": 404,
        "other_supervisor": 404,
    },
    "POST /v1/jobs/import": {"admin": A},
    "POST /v1/jobs/{job_id}/assign": {"supervisor": A, "admin": A},
    "POST /v1/jobs/{job_id}/cancel": {"supervisor": A, "admin": A},
    "POST /v1/parts": {"admin": A},
    "GET /v1/parts": {r: A for r in ROLES[3:]},
    "POST /v1/templates": {"admin": A},
    "GET /v1/part-requests": {r: A for r in ROLES[3:]},
    "POST /v1/part-requests/{request_id}/approve": {"supervisor": A, "admin": A},
    "POST /v1/part-requests/{request_id}/reject": {"supervisor": A, "admin": A},
    "POST /v1/part-requests/{request_id}/ship": {"admin": A},
    "POST /v1/escalations/run": {"admin": A},
    "POST /v1/jobs/{job_id}/callback": {
        "supervisor": A,
        "admin": A,
        "teammate": 403,
        "other_team": 403,
        "other_supervisor": 403,
        "owner": 403,
    },
    "GET /v1/reports/kpis": {"supervisor": A, "other_supervisor": A, "admin": A},
    "GET /v1/jobs/{job_id}/report": {
        "owner": A,
        "supervisor": A,
        "admin": A,
        "teammate": 404,
        "other_team": 404,
        "other_supervisor": 404,
    },
    "POST /v1/plan/maintenance": {"admin": A},
    "GET /v1/technicians/{technician_id}/day": {
        "owner": A,
        "supervisor": A,
        "other_supervisor": A,
        "admin": A,
    },
}


def expected(route: str, role: str) -> object:
    if role in ("anonymous", "garbage", "revoked"):
        return 401
    return MATRIX[route].get(role, 403)


def routes() -> list[str]:
    app = create_app(None)  # type: ignore[arg-type]
    out = []
    for r in app.routes:
        for m in sorted(getattr(r, "methods", None) or []):
            if m in ("HEAD", "OPTIONS"):
                continue
            out.append(f"{m} {r.path}")
    return out


def test_every_route_is_in_the_matrix():
    assert sorted(routes()) == sorted(MATRIX)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    world = World.start(tmp_path_factory.mktemp("authz"))
    owner = world.phone("Tenzin Dorje", team="north")
    teammate = world.phone("Kofi Mensah", team="north")
    other_team = world.phone("Olga Ivanova", team="south")
    supervisor = world.phone("Lhamo Sup", team="north", role="supervisor")
    other_sup = world.phone("Diego Sup", team="south", role="supervisor")
    revoked = world.phone("Gone Away", team="north")
    auth.revoke(world.hq, revoked.device.device_id)
    auth.add_user(world.hq, name="Admin Two", role="admin")
    admin_token = auth.admin_token(world.hq, "admin-two")
    job = world.job(
        owner.user_id,
        customer_name="Secret Customer Name",
        address="99 Hidden Lane",
        confirmation_code="ZX9Q7",
    )
    south_job = world.job(other_team.user_id, ref="SOUTH-1")
    owner.client.sync()
    from fieldtech.services import parts

    req = parts.request_part(owner.device, "AC-FAN-MTR", 1, job_id=job["id"])
    owner.client.sync()
    tokens = {
        "garbage": "ft_not-a-real-token",
        "revoked": _token(world, revoked),
        "owner": _token(world, owner),
        "teammate": _token(world, teammate),
        "other_team": _token(world, other_team),
        "supervisor": _token(world, supervisor),
        "other_supervisor": _token(world, other_sup),
        "admin": admin_token,
    }
    phones = {
        "owner": owner,
        "teammate": teammate,
        "other_team": other_team,
        "supervisor": supervisor,
        "other_supervisor": other_sup,
        "revoked": revoked,
    }
    world.south_job = south_job
    yield world, tokens, phones, job, req
    world.stop()


def _token(world: World, phone) -> str:
    home = world.root / phone.user_id
    return json.loads((home / "credential.json").read_text())["token"]


def call(world, token, route, job, req, phones, role):
    method, path = route.split(" ", 1)
    path = (
        path.replace("{job_id}", job["id"])
        .replace("{request_id}", req["id"])
        .replace("{user_id}", "kofi-mensah")
        .replace("{device_id}", "no-such-device")
        .replace("{technician_id}", "tenzin-dorje")
    )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict | None = None
    content = None
    if route == "POST /v1/sync":
        phone = phones.get(role)
        device = phone.device.device_id if phone else "admin-console"
        content = protocol.encode({"v": 1, "device": device, "cursor": 0, "ops": []})
        headers["Content-Encoding"] = "gzip"
    elif route == "POST /v1/users":
        body = {"name": "New Person", "role": "technician", "team": "north"}
    elif route == "POST /v1/jobs":
        body = {
            "kind": "repair",
            "summary": "x",
            "customer_name": "C",
            "address": "A",
            "team": "north",
        }
    elif route == "POST /v1/jobs/{job_id}/assign":
        body = {"technician": "tenzin-dorje"}
    elif route.endswith("/cancel") or route.endswith("/reject"):
        body = {"reason": "authorization probe"}
    elif route.endswith("/approve") or route.endswith("/ship"):
        body = {}
    elif route.endswith("/callback"):
        body = {"skill": 5, "attitude": 5, "adherence": 5}
    elif route in ("POST /v1/escalations/run", "POST /v1/plan/maintenance"):
        body = {}
    elif route == "POST /v1/jobs/import":
        content = b"ref,kind,summary,customer_name,address\n"
    elif route == "POST /v1/parts":
        content = b"sku,name\nPROBE-1,Probe part\n"
    elif route == "POST /v1/templates":
        content = json.dumps(
            {
                "id": "probe",
                "name": "Probe",
                "job_kind": "repair",
                "items": [{"key": "k", "label": "K", "type": "tick"}],
            }
        ).encode()
    with httpx.Client(base_url=world.server.url, timeout=30) as http:
        return http.request(method, path, headers=headers, json=body, content=content)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(r for r in MATRIX if r != "POST /v1/enroll"))
def test_matrix(setup, route, role):
    world, tokens, phones, job, req = setup
    token = None if role == "anonymous" else tokens[role]
    r = call(world, token, route, job, req, phones, role)
    want = expected(route, role)
    if want == A:
        # Allowed: the answer is not an authorization refusal (a domain 4xx is fine, e.g.
        # reassigning to the same technician or a request already decided).
        assert r.status_code not in (401, 403), (route, role, r.text)
        assert r.status_code < 500
    else:
        assert r.status_code == want, (route, role, r.status_code, r.text)
        assert "detail" in r.json()
    # Zero leaks: only those who may see the job ever get its customer's details back.
    if role not in ("owner", "supervisor", "admin"):
        for secret in ("Secret Customer Name", "99 Hidden Lane", "ZX9Q7"):
            assert secret not in r.text, (route, role)


def test_foreign_technician_cannot_change_or_pull_anothers_job(setup):
    world, tokens, phones, job, req = setup
    teammate = phones["teammate"]
    from fieldtech.domain.hlc import Clock
    from fieldtech.domain.ids import new_id

    op = {
        "i": new_id(),
        "h": Clock("x").now(),
        "o": "job.note",
        "e": job["id"],
        "p": {"body": "not my job"},
    }
    body = protocol.encode({"v": 1, "device": teammate.device.device_id, "cursor": 0, "ops": [op]})
    with httpx.Client(base_url=world.server.url) as http:
        r = http.post(
            "/v1/sync",
            content=body,
            headers={"Authorization": f"Bearer {tokens['teammate']}", "Content-Encoding": "gzip"},
        )
    answer = r.json()
    assert answer["acks"] == [] and "not assigned to you" in answer["rejected"][0]["reason"]
    assert all(e["body"] != "not my job" for e in world.rows("job_events", job_id=job["id"]))
    assert "Secret Customer Name" not in r.text
    teammate.client.sync()
    assert not teammate.store.job_exists(job["id"])
    # The team's supervisor does receive it; the other team's does not.
    phones["supervisor"].client.sync()
    phones["other_supervisor"].client.sync()
    assert phones["supervisor"].store.job_exists(job["id"])
    assert not phones["other_supervisor"].store.job_exists(job["id"])
    # With jobs on both teams, each supervisor holds exactly their own team's.
    south = world.south_job["id"]
    assert phones["other_supervisor"].store.job_exists(south)
    assert not phones["supervisor"].store.job_exists(south)
    sup = phones["supervisor"].store
    assert {sup.job(r["id"])["team"] for r in sup.queue(limit=100)} == {"north"}


def test_enrollment_codes_are_one_use_and_secrets_are_only_hashed(setup, tmp_path):
    world, tokens, phones, job, req = setup
    user, code = auth.add_user(world.hq, name="Once Only", role="technician", team="north")
    with httpx.Client(base_url=world.server.url) as http:
        first = http.post("/v1/enroll", json={"code": code, "device_id": "d-1"})
        again = http.post("/v1/enroll", json={"code": code, "device_id": "d-2"})
        wrong = http.post("/v1/enroll", json={"code": "AAAA-BBBB-CCCC", "device_id": "d-3"})
    assert first.status_code == 200 and again.status_code == 401 and wrong.status_code == 401
    raw = b"".join(p.read_bytes() for p in world.root.glob("hq.sqlite*"))
    for secret in [*tokens.values(), first.json()["token"], code]:
        assert secret.encode() not in raw
    home = world.root / phones["owner"].user_id
    assert stat.S_IMODE(os.stat(home / "credential.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home / "device.sqlite").st_mode) == 0o600


def test_matrix_rows_render():
    lines = matrix_markdown().splitlines()
    assert lines[0].startswith("| endpoint |") and len(lines) == len(MATRIX) + 2


def matrix_markdown() -> str:
    head = "| endpoint | " + " | ".join(ROLES) + " |"
    sep = "|---|" + "---|" * len(ROLES)
    rows = []
    for route in sorted(MATRIX):
        if route == "POST /v1/enroll":
            cells = ["one-time code"] * len(ROLES)
        else:
            cells = ["✓" if expected(route, r) == A else str(expected(route, r)) for r in ROLES]
        rows.append(f"| `{route}` | " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *rows])
