"""Every endpoint × every role and a foreign technician: who may do what, and zero leaks."""

from __future__ import annotations

import json
import os
import stat

import httpx
import pytest

from fieldtech.hq import auth
from fieldtech.hq.api import create_app
from fieldtech.sync import bundles, keys, protocol
from tests.integration.world import World

pytestmark = pytest.mark.integration

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
PHOTO = __import__("tests.pictures").pictures.picture(9500, "the installed unit")
PHOTO_SHA = __import__("hashlib").sha256(PHOTO).hexdigest()
MATRIX: dict[str, dict[str, object]] = {
    "GET /v1/openapi.json": {r: A for r in ROLES[3:]},
    "GET /v1/me": {r: A for r in ROLES[3:]},
    "POST /v1/enroll": {},  # authenticated by a one-time code: tested on its own below
    "POST /v1/sync": {r: A for r in ROLES[3:]},
    "GET /v1/wait": {r: A for r in ROLES[3:]},
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
    "GET /v1/files/{sha256}": {
        "owner": A,
        "supervisor": A,
        "admin": A,
        "teammate": 404,
        "other_team": 404,
        "other_supervisor": 404,
    },
    "PATCH /v1/files/{sha256}": {  # only a file's author sends its bytes
        "owner": A,
        "supervisor": 404,
        "admin": 404,
        "teammate": 404,
        "other_team": 404,
        "other_supervisor": 404,
    },
    "GET /v1/technicians/{technician_id}/day": {
        "owner": A,
        "supervisor": A,
        "other_supervisor": A,
        "admin": A,
    },
    # Each device offers its own key (the one it enrolled with: kept as it is).
    "PUT /v1/devices/key": {r: A for r in ROLES[3:8]},
    # Anyone signed in may carry a device's bundle: its signature decides whose it is.
    "POST /v1/bundles": {r: A for r in ROLES[3:]},
}


def expected(route: str, role: str) -> object:
    if role in ("anonymous", "garbage", "revoked"):
        return 401
    return MATRIX[route].get(role, 403)


def routes() -> list[str]:
    app = create_app(None)  # type: ignore[arg-type]
    out: list[str] = []

    def walk(found, prefix: str) -> None:
        for r in found:
            router = getattr(r, "original_router", None)  # an included APIRouter, unflattened
            if router is not None:
                walk(router.routes, prefix + r.include_context.prefix)
                continue
            for m in sorted(getattr(r, "methods", None) or []):
                if m not in ("HEAD", "OPTIONS"):
                    out.append(f"{m} {prefix}{r.path}")

    walk(app.routes, "")
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
    from fieldtech.services import attachments

    photo = world.root / "unit.jpg"
    photo.write_bytes(PHOTO)
    attachments.attach(owner.device, job["id"], photo, caption="the installed unit")
    owner.client.sync()
    assert world.rows("files")[0]["complete"]
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
    from fieldtech.sync import offline

    carried = world.root / "owner.ftb"
    offline.export_bundle(owner.device, world.root / owner.user_id / "credential.json", carried)
    world.owner_bundle = carried.read_bytes()  # type: ignore[attr-defined]
    world.fresh = Fresh(world, owner)  # type: ignore[attr-defined]
    yield world, tokens, phones, job, req
    world.stop()


class Fresh:
    """A target of its own for each allowed call that changes something, so every allowed
    cell must answer with its success (the shared job is never cancelled under the others)."""

    def __init__(self, world: World, owner) -> None:
        self.world, self.owner, self.spares = world, owner, 0

    def job(self) -> dict:
        return self.world.job(self.owner.user_id)

    def closed_job(self) -> dict:
        from fieldtech.services import jobs

        job = self.job()
        self.owner.client.sync()
        jobs.cannot_complete(self.owner.device, job["id"], "customer not at home")
        self.owner.client.sync()
        return job

    def request(self, approved: bool = False) -> dict:
        from fieldtech.domain.parts import RequestStatus
        from fieldtech.hq import requests
        from fieldtech.services import parts
        from tests.integration.world import ADMIN

        job = self.job()
        self.owner.client.sync()
        req = parts.request_part(self.owner.device, "AC-FAN-MTR", 1, job_id=job["id"])
        self.owner.client.sync()
        if approved:
            requests.step(self.world.hq, ADMIN, req["id"], RequestStatus.APPROVED)
        return req

    def device_id(self) -> str:
        self.spares += 1
        return self.world.phone(f"Spare Phone {self.spares}", team="north").device.device_id


def fresh_targets(world, route: str, job: dict, req: dict) -> tuple[dict, dict, str]:
    """(job, part request, device id) an allowed call of `route` acts on."""
    fresh = world.fresh
    device = "no-such-device"
    if route.endswith(("/cancel", "/assign")):
        job = fresh.job()
    elif route.endswith("/callback"):
        job = fresh.closed_job()
    elif route.endswith(("/approve", "/reject")):
        req = fresh.request()
    elif route.endswith("/ship"):
        req = fresh.request(approved=True)
    elif route.endswith("/revoke"):
        device = fresh.device_id()
    return job, req, device


def _token(world: World, phone) -> str:
    home = world.root / phone.user_id
    return json.loads((home / "credential.json").read_text())["token"]


def call(world, token, route, job, req, phones, role, device="no-such-device"):
    method, path = route.split(" ", 1)
    path = (
        path.replace("{job_id}", job["id"])
        .replace("{request_id}", req["id"])
        .replace("{user_id}", "kofi-mensah")
        .replace("{device_id}", device)
        .replace("{technician_id}", "tenzin-dorje")
        .replace("{sha256}", PHOTO_SHA)
    )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict | None = None
    content = None
    if route == "POST /v1/sync":
        phone = phones.get(role)
        device = phone.device.device_id if phone else "admin-console"
        content = protocol.encode({"v": 1, "device": device, "cursor": 0, "ops": []})
        headers["Content-Encoding"] = "gzip"
    elif route == "GET /v1/wait":
        path += "?timeout=0"  # answered at once: the probe is about who may wait
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
        body = {"technician": "kofi-mensah"}
    elif route.endswith("/cancel") or route.endswith("/reject"):
        body = {"reason": "authorization probe"}
    elif route.endswith("/approve") or route.endswith("/ship"):
        body = {}
    elif route.endswith("/callback"):
        body = {"skill": 5, "attitude": 5, "adherence": 5}
    elif route in ("POST /v1/escalations/run", "POST /v1/plan/maintenance"):
        body = {}
    elif route == "PATCH /v1/files/{sha256}":  # HQ has it whole: nothing more is taken
        content = PHOTO[:10]
        headers.update({"Upload-Offset": "0", "Content-Type": protocol.OFFSET_TYPE})
    elif route == "POST /v1/jobs/import":
        content = b"ref,kind,summary,customer_name,address\n"
    elif route == "PUT /v1/devices/key":
        phone = phones.get(role)
        home = world.root / (phone.user_id if phone else "owner-less")
        cred = json.loads((home / "credential.json").read_text()) if phone else {}
        fresh = {"public_key": bundles.new_key()[1], "box_key": bundles.new_box_key()[1]}
        body = keys.offered(cred) if cred else fresh
    elif route == "POST /v1/bundles":
        content = world.owner_bundle
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


SEES_THE_JOB = ("owner", "supervisor", "admin")
USER_ID = {
    "owner": "tenzin-dorje",
    "teammate": "kofi-mensah",
    "other_team": "olga-ivanova",
    "supervisor": "lhamo-sup",
    "other_supervisor": "diego-sup",
    "admin": "admin-two",
}


def _ids(r) -> list[str]:
    return [row["id"] for row in r.json()]


# What an allowed call answers: its exact success code and a check on its body.
# (route -> (code, check(response, role, job, req, device)))
SUCCESS = {
    "GET /v1/openapi.json": (200, lambda r, *_: r.json()["openapi"].startswith("3.")),
    "GET /v1/me": (200, lambda r, role, *_: r.json()["user_id"] == USER_ID[role]),
    "POST /v1/sync": (200, lambda r, *_: r.json()["acks"] == [] and r.json()["rejected"] == []),
    "GET /v1/wait": (200, lambda r, *_: isinstance(r.json()["changes"], bool)),
    "GET /v1/sync/checksum": (200, lambda r, *_: isinstance(r.json()["jobs"], int)),
    "POST /v1/users": (201, lambda r, *_: r.json()["user"]["name"] == "New Person"),
    "GET /v1/users": (200, lambda r, role, *_: USER_ID[role] in _ids(r)),
    "POST /v1/users/{user_id}/enrollment": (201, lambda r, *_: bool(r.json()["enrollment_code"])),
    "GET /v1/devices": (200, lambda r, *_: "tenzin-dorje" in {d["user_id"] for d in r.json()}),
    "POST /v1/devices/{device_id}/revoke": (200, lambda r, *_: r.json()["revoked"] >= 1),
    "POST /v1/jobs": (201, lambda r, *_: r.json()["summary"] == "x" and bool(r.json()["id"])),
    "GET /v1/jobs": (
        200,
        lambda r, role, job, *_: (job["id"] in _ids(r)) == (role in SEES_THE_JOB),
    ),
    "GET /v1/jobs/{job_id}": (200, lambda r, _, job, *__: r.json()["id"] == job["id"]),
    "POST /v1/jobs/import": (200, lambda r, *_: r.json()["rejected"] == []),
    "POST /v1/jobs/{job_id}/assign": (
        200,
        lambda r, _, job, *__: (
            r.json()["id"] == job["id"] and r.json()["technician_id"] == "kofi-mensah"
        ),
    ),
    "POST /v1/jobs/{job_id}/cancel": (
        200,
        lambda r, _, job, *__: r.json()["id"] == job["id"] and r.json()["status"] == "cancelled",
    ),
    "POST /v1/parts": (200, lambda r, *_: r.json() == {"saved": 1}),
    "GET /v1/parts": (200, lambda r, *_: "AC-FAN-MTR" in {p["sku"] for p in r.json()}),
    "POST /v1/templates": (200, lambda r, *_: r.json()["id"] == "probe"),
    "GET /v1/part-requests": (
        200,
        lambda r, role, job, req, _: (req["id"] in _ids(r)) == (role in SEES_THE_JOB),
    ),
    "POST /v1/part-requests/{request_id}/approve": (
        200,
        lambda r, _, __, req, ___: r.json()["id"] == req["id"] and r.json()["status"] == "approved",
    ),
    "POST /v1/part-requests/{request_id}/reject": (
        200,
        lambda r, _, __, req, ___: r.json()["id"] == req["id"] and r.json()["status"] == "rejected",
    ),
    "POST /v1/part-requests/{request_id}/ship": (
        200,
        lambda r, _, __, req, ___: r.json()["id"] == req["id"] and r.json()["status"] == "shipped",
    ),
    "POST /v1/escalations/run": (200, lambda r, *_: isinstance(r.json(), list)),
    "POST /v1/jobs/{job_id}/callback": (201, lambda r, _, job, *__: r.json()["job"] == job["ref"]),
    "GET /v1/reports/kpis": (200, lambda r, *_: isinstance(r.json(), list)),
    "GET /v1/jobs/{job_id}/report": (200, lambda r, _, job, *__: job["ref"] in r.text),
    "POST /v1/plan/maintenance": (200, lambda r, *_: isinstance(r.json(), list)),
    "GET /v1/files/{sha256}": (200, lambda r, *_: r.content == PHOTO),
    "PATCH /v1/files/{sha256}": (204, lambda r, *_: r.headers["Upload-Offset"] == str(len(PHOTO))),
    "GET /v1/technicians/{technician_id}/day": (
        200,
        # The other team's supervisor may ask, and gets an empty day: scope still applies.
        lambda r, role, job, *_: (job["id"] in _ids(r)) == (role in SEES_THE_JOB),
    ),
    "PUT /v1/devices/key": (200, lambda r, *_: len(r.json()["hq_key"]) == 43),
    "POST /v1/bundles": (
        200,
        lambda r, *_: bundles.read(r.content).manifest["kind"] == bundles.REPLY,
    ),
}


def test_every_allowed_route_names_its_success():
    allowed = {route for route in MATRIX if A in MATRIX[route].values()}
    assert allowed == set(SUCCESS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(r for r in MATRIX if r != "POST /v1/enroll"))
def test_matrix(setup, route, role):
    world, tokens, phones, job, req = setup
    token = None if role == "anonymous" else tokens[role]
    want = expected(route, role)
    device = "no-such-device"
    if want == A:
        job, req, device = fresh_targets(world, route, job, req)
    r = call(world, token, route, job, req, phones, role, device)
    if want == A:
        # Allowed means done: the exact success, with the thing asked for in the answer. A 404
        # for an owner locked out of their own job, or a 409, fails here.
        code, check = SUCCESS[route]
        assert r.status_code == code, (route, role, r.status_code, r.text)
        assert check(r, role, job, req, device), (route, role, r.text)
    else:
        assert r.status_code == want, (route, role, r.status_code, r.text)
        assert "detail" in r.json()
    # Zero leaks: only those who may see the job ever get its customer's details back.
    if role not in SEES_THE_JOB:
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
