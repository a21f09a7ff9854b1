"""Fuzz HQ's API from its own OpenAPI document, signed in as each role.

Schemathesis reads /v1/openapi.json (fetched with a credential, as every endpoint requires)
from a real HQ on 127.0.0.1 and generates valid and invalid requests for every operation.
Whatever it sends, HQ must answer without a 5xx, with a documented status code and content
type, and with a body that matches the documented schema: bad input is a 4xx with a reason.

Run alone: pytest -q tests/integration/test_fuzz_api.py (under two minutes on two cores).
"""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fieldtech.domain import ops as O
from fieldtech.domain.jobs import Status
from fieldtech.domain.parts import RequestStatus
from fieldtech.domain.templates import DEFAULT_TEMPLATES
from fieldtech.hq import auth, catalog
from fieldtech.hq.api import TemplateIn
from fieldtech.services import attachments, parts
from fieldtech.sync import wire_models
from tests.integration.world import World
from tests.pictures import picture

pytestmark = pytest.mark.integration

ROLES = ("admin", "supervisor", "technician")
EXAMPLES = 25  # per operation and role: keeps the whole file under two minutes
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = sorted(
    v for k, v in vars(O).items() if k.isupper() and isinstance(v, str) and "." in v
)
WORDS = sorted({*Status, *RequestStatus, "use", "receive", "fixed", "ok", "warning", "fail"})
# An attachment's chunk is raw bytes: any bytes, a JPEG's first bytes among them.
schemathesis.openapi.media_type(
    "application/offset+octet-stream",
    st.one_of(st.binary(max_size=4096), st.binary(max_size=64).map(b"\xff\xd8\xff\xe0".__add__)),
)
# A bundle is raw bytes too: any bytes, and ones that begin as a bundle does.
schemathesis.openapi.media_type(
    "application/vnd.fieldtech.bundle",
    st.one_of(st.binary(max_size=4096), st.binary(max_size=256).map(b"FTBUNDLE1".__add__)),
)


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory):
    world = World.start(tmp_path_factory.mktemp("fuzz"))
    tech = world.phone("Tenzin Dorje", team="north")
    sup = world.phone("Lhamo Sup", team="north", role="supervisor")
    auth.add_user(world.hq, name="Fuzz Admin", role="admin")
    job = world.job(tech.user_id, customer_name="Fuzz Customer", address="1 Fuzz Lane")
    tech.client.sync()
    req = parts.request_part(tech.device, "AC-FAN-MTR", 1, job_id=job["id"])
    # A photo whose reference HQ has and whose bytes it waits for: chunks fuzzed at it
    # reach the real upload (offsets, sizes, the hash check at the end).
    photo = world.root / "waiting.jpg"
    photo.write_bytes(picture(4000, "fuzz"))
    waiting = attachments.attach(tech.device, job["id"], photo)
    tech.store.upload_problem(waiting["sha256"], "held back for the fuzzer")
    tech.client.sync()

    def token(user_id: str) -> str:
        return json.loads((world.root / user_id / "credential.json").read_text())["token"]

    roles = {
        "admin": {"token": auth.admin_token(world.hq, "fuzz-admin"), "device": "fuzz-console"},
        "supervisor": {"token": token(sup.user_id), "device": sup.device.device_id},
        "technician": {"token": token(tech.user_id), "device": tech.device.device_id},
    }
    ids = {
        "job_id": job["id"],
        "request_id": req["id"],
        "user_id": tech.user_id,
        "technician_id": tech.user_id,
        "sku": "AC-FAN-MTR",
        "sha256": waiting["sha256"],
    }
    yield world, roles, ids
    world.stop()


@pytest.fixture(scope="module", params=ROLES)
def role(request) -> str:
    return request.param


@pytest.fixture
def credential(fuzz_world, role) -> dict[str, str]:
    _world, roles, _ids = fuzz_world
    return {"Authorization": f"Bearer {roles[role]['token']}"}


# The payload keys each operation reads (fieldtech.domain.ops.expand), so that generated
# operations get past "payload lacks ..." into the code that applies them.
NEEDS = {
    O.JOB_STATUS: ("from", "to"),
    O.JOB_CLOSE: ("from", "to"),
    O.JOB_NOTE: ("body",),
    O.READING_ADD: ("key", "value", "verdict"),
    O.STOCK_MOVE: ("sku", "kind", "qty"),
    O.REQUEST_CREATE: ("sku", "qty", "status"),
    O.REQUEST_STEP: ("from", "to"),
    O.JOB_ASSIGN: ("to",),
    O.ESCALATION_ACK: ("level",),
    O.CALLBACK_RECORD: ("job", "skill", "attitude", "adherence"),
}
OPTIONAL = ("reason", "note", "comment", "job", "request", "override", "outcome", "name")
ID_CHARS = st.characters(exclude_categories=["Cc", "Cs"])  # ids are printable (protocol.Id)
NEW_JOB = ("ref", "kind", "priority", "customer_id", "site_id", "summary", "window_start")


def wire_ops(ids: dict[str, str], stamp_ms: int) -> st.SearchStrategy:
    """Operations HQ gets past the envelope with: a real clock stamp, a known operation and
    entity, and a payload with the keys the operation reads, each holding any JSON scalar."""
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.integers(min_value=0, max_value=6),
        st.floats(min_value=-1e9, max_value=1e9),
        st.text(max_size=12),
        st.sampled_from([*WORDS, *ids.values()]),
    )

    def entity(op: str) -> str:
        if op == O.STOCK_MOVE:
            return ids["sku"]
        if op == O.REQUEST_STEP:
            return ids["request_id"]
        return ids["job_id"] if op in NEEDS or op == O.ESCALATION_RAISE else f"new-{op}"

    def payload(op: str) -> st.SearchStrategy:
        if op == O.JOB_CREATE:
            job = st.fixed_dictionaries({k: scalar for k in (*NEW_JOB, "sla_due")})
            return st.fixed_dictionaries({"job": job})
        needs = NEEDS.get(op, ())
        return st.fixed_dictionaries(
            {k: scalar for k in needs},
            optional={k: scalar for k in OPTIONAL if k not in needs},
        )

    return st.sampled_from(OPERATIONS).flatmap(
        lambda op: st.fixed_dictionaries(
            {
                "i": st.text(ID_CHARS, min_size=1, max_size=12),
                "h": st.builds(
                    lambda ms, c: f"{ms:013d}-{c:05d}-fuzz",
                    st.integers(stamp_ms - 10**9, stamp_ms + 10**6),
                    st.integers(0, 99999),
                ),
                "o": st.just(op),
                "e": st.one_of(
                    st.just(entity(op)),
                    st.text(ID_CHARS, min_size=1, max_size=8),
                    st.sampled_from([*ids.values()]),
                ),
                "p": payload(op),
            }
        )
    )


@pytest.fixture
def api_schema(fuzz_world, role, credential):
    world, roles, ids = fuzz_world
    anonymous = httpx.get(world.server.url + "/v1/openapi.json", timeout=30)
    assert anonymous.status_code == 401, anonymous.text
    r = httpx.get(world.server.url + "/v1/openapi.json", headers=credential, timeout=30)
    assert r.status_code == 200, r.text
    config = schemathesis.Config.from_dict(
        {
            "base-url": world.server.url,
            "generation": {"mode": "all", "max-examples": EXAMPLES},
            "phases": {"stateful": {"enabled": False}},
        }
    )
    schema = schemathesis.openapi.from_dict(r.json(), config=config)
    ops = wire_ops(ids, int(time.time() * 1000))
    device = roles[role]["device"]

    @schema.hook
    def flatmap_path_parameters(_context, path_parameters):
        # Half the time a real id from the seeded world, to get past "not found".
        real = {k: ids[k] for k in path_parameters or () if k in ids}
        if not real:
            return st.just(path_parameters)
        return st.sampled_from([path_parameters, {**path_parameters, **real}])

    @schema.hook
    def flatmap_body(context, body):
        if not isinstance(body, dict):
            return st.just(body)
        if context.operation.path == "/v1/sync":
            # Half the sync requests come from this role's own device with plausible
            # operations, so the fuzzer reaches push and pull, not just "another device".
            plausible = st.fixed_dictionaries(
                {
                    "v": st.just(1),
                    "device": st.just(device),
                    "cursor": st.integers(min_value=0, max_value=2**63 - 1),
                    "limit": st.integers(min_value=1, max_value=50),
                    "ops": st.lists(ops, min_size=1, max_size=5),
                }
            )
            return st.one_of(plausible, st.just(body))
        if "technician" in body:  # a job for, or assigned to, a technician HQ knows
            return st.sampled_from([body, {**body, "technician": ids["technician_id"]}])
        return st.just(body)

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_answers_within_its_documented_contract(case, credential):
    if case.path == "/v1/wait":
        # A device's wait holds up to 30 s (25 s when it names no timeout): the fuzzer waits
        # at most a second of it. The route's bounds, 0-30, are still checked: values outside
        # them, or not numbers, are sent as generated and refused either way.
        query = dict(case.query or {})
        given = query.get("timeout")
        try:
            held = given is None or 1 < float(given) <= 30
        except (TypeError, ValueError):
            held = False
        if held:
            case.query = {**query, "timeout": 1}
    if case.headers:
        # An empty Content-Length the fuzzer adds is refused by the HTTP server itself (h11:
        # "Invalid HTTP request received.", 400) before HQ sees the request: not HQ's answer.
        case.headers = {k: v for k, v in case.headers.items() if k.lower() != "content-length"}
    case.call_and_validate(headers=credential, checks=CHECKS)


@pytest.mark.parametrize("who", ROLES)
def test_plausible_operations_are_each_acked_or_rejected_never_a_5xx(fuzz_world, who):
    """Deeper than the document: operations a device could send, with junk in every field.
    Each is acked or rejected with a reason; the sync answers 200, so the queue never stalls."""
    world, roles, ids = fuzz_world
    headers = {"Authorization": f"Bearer {roles[who]['token']}"}
    device = roles[who]["device"]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(wire_ops(ids, int(time.time() * 1000)), min_size=1, max_size=6))
    def check(batch):
        body = {"v": 1, "device": device, "ops": batch, "limit": 50}
        r = httpx.post(world.server.url + "/v1/sync", json=body, headers=headers, timeout=30)
        assert r.status_code == 200, (r.status_code, r.text, batch)
        answer = wire_models.SyncResponse.model_validate(r.json())
        answered = set(answer.acks) | {x.id for x in answer.rejected}
        assert answered == {op["i"] for op in batch}, (answer, batch)
        unclear = [x for x in answer.rejected if not x.reason or "\n" in x.reason]
        assert not unclear, (unclear, batch)

    check()


# -- what the fuzzer found once, and inputs too big or deep for it to come up with ----------


INFINITE_QTY = (  # Python's json reads Infinity and NaN; stock.move makes an int of qty
    '{"device": "DEVICE", "ops": [{"i": "inf", "h": "1795025322971-00000-x", "o": "stock.move",'
    ' "e": "AC-FAN-MTR", "p": {"sku": "AC-FAN-MTR", "kind": "use", "qty": Infinity}}]}'
)
STRAY_CR = "ref,kind,summary,customer_name,address\nA-1,repair,s,c,a\rö\n"
IMPORT_9999 = (
    "ref,kind,summary,customer_name,address,sla_due\n"
    "OK-1,repair,s,c,a,2026-11-23T09:00\n"
    "FAR-1,repair,s,c,a,9999-12-31T23:59:59-05:00\n"
)


def test_hostile_bodies_get_a_4xx_with_a_one_line_reason(world):
    phone = world.phone("Tenzin Dorje")
    job = world.job(phone.user_id)
    auth.add_user(world.hq, name="Admin", role="admin")
    admin = {"Authorization": f"Bearer {auth.admin_token(world.hq, 'admin')}"}
    tech_token = json.loads((world.root / phone.user_id / "credential.json").read_text())
    tech = {"Authorization": f"Bearer {tech_token['token']}"}
    device = phone.device.device_id
    stamp = f"{int(time.time() * 1000):013d}-00000-fuzz"
    deep = b"[" * 100_000 + b"]" * 100_000
    huge = 10**30
    move = {"sku": "AC-FAN-MTR", "kind": "use", "qty": huge, "job": job["id"]}
    template = {"id": "t", "name": "T", "job_kind": "repair", "category": {}, "items": []}
    new_job = {"kind": "repair", "summary": "s", "customer_name": "c", "address": "a"}
    new_job["technician"] = phone.user_id
    far = "9999-12-31T23:59:59-05:00"

    def note_on(entity: str) -> dict:
        return {"i": "n", "h": stamp, "o": "job.note", "e": entity, "p": {"body": "b"}}

    cases = [
        # (who, path, request, status, words in the reason)
        (tech, "/v1/sync", {"content": deep}, 400, "nested too deeply"),
        (tech, "/v1/sync", {"content": gzip.compress(deep), "gz": True}, 400, "nested"),
        (tech, "/v1/sync", {"json": {"device": device, "cursor": huge}}, 422, "cursor"),
        (
            tech,
            "/v1/sync",
            {
                "json": {
                    "device": device,
                    "ops": [dict(i="x", h=stamp, o="stock.move", e="AC-FAN-MTR", p=move)],
                }
            },
            200,  # the operation alone is refused, with its reason (test_op_fuzz.py)
            "",
        ),
        (tech, "/v1/sync", {"content": INFINITE_QTY.replace("DEVICE", device)}, 200, ""),
        (tech, "/v1/sync", {"json": {"device": device, "ops": [note_on("a\nb")]}}, 422, "print"),
        (admin, "/v1/templates", {"content": deep}, 400, "must be JSON"),
        (admin, "/v1/templates", {"json": template}, 400, "template refused: category"),
        (admin, "/v1/parts", {"content": deep}, 400, "nested too deeply"),
        (
            admin,
            "/v1/parts",
            {"json": [{"sku": "A", "name": "a", "price_cents": {}}]},
            400,
            "price",
        ),
        (
            admin,
            "/v1/parts",
            {"content": b"sku,name,price_cents\nA,a,99999999999999\n"},
            400,
            "price",
        ),
        (admin, "/v1/parts", {"content": b'sku,name\nA,"a\r'}, 200, ""),
        (admin, "/v1/parts", {"content": b"sku,name\nA,a\rB"}, 400, "not readable CSV"),
        (
            admin,
            "/v1/parts",
            {
                "json": [
                    {"sku": "A", "name": "a", "barcode": "1"},
                    {"sku": "B", "name": "b", "barcode": "1"},
                ]
            },
            400,
            "barcode 1 is on two parts",
        ),
        (admin, "/v1/jobs/import", {"content": STRAY_CR.encode()}, 400, "line 2"),
        (admin, "/v1/jobs", {"json": {**new_job, "customer_id": "nope"}}, 404, "not known"),
        (admin, "/v1/jobs", {"json": {**new_job, "sla_due": far}}, 422, "sla_due: '9999"),
        (admin, "/v1/escalations/run", {"json": {"at": far}}, 422, "years 1900–2999"),
        (admin, "/v1/plan/maintenance", {"json": {"date": "9999-12-31"}}, 422, "date: '9999"),
        (admin, "/v1/reports/kpis?format=xml", {}, 422, "format"),
        (admin, f"/v1/jobs/{job['id']}/report?format=pdf", {}, 422, "format"),
    ]
    for who, path, request, status, words in cases:
        headers = dict(who)
        if request.pop("gz", False):
            headers["Content-Encoding"] = "gzip"
        method = "GET" if "?" in path else "POST"
        r = httpx.request(method, world.server.url + path, headers=headers, timeout=30, **request)
        assert r.status_code == status, (path, r.status_code, r.text)
        if status >= 400:
            detail = r.json()["detail"]
            assert isinstance(detail, str) and "\n" not in detail and words in detail, detail
    # An import reports the row whose date is past the calendar and keeps the others.
    r = httpx.post(
        world.server.url + "/v1/jobs/import", headers=admin, content=IMPORT_9999.encode()
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["created_refs"] == ["OK-1"]
    assert [(x["line"], x["ref"]) for x in answer["rejected"]] == [(3, "FAR-1")]
    assert "sla_due" in answer["rejected"][0]["reason"]  # the API's rule, the same words
    assert "outside the years 1900–2999" in answer["rejected"][0]["reason"]
    # A barcode already on another part: refused whole, as a conflict with the catalogue.
    first = [{"sku": "C", "name": "c", "barcode": "77"}]
    again = [{"sku": "D", "name": "d", "barcode": "77"}, {"sku": "E", "name": "e"}]
    with httpx.Client(base_url=world.server.url, headers=admin, timeout=30) as http:
        assert http.post("/v1/parts", json=first).status_code == 200
        r = http.post("/v1/parts", json=again)
        assert r.status_code == 409 and "already on another part" in r.json()["detail"]
        assert "E" not in {p["sku"] for p in http.get("/v1/parts").json()}


def test_every_default_template_fits_the_documented_upload_schema():
    for t in DEFAULT_TEMPLATES:
        TemplateIn.model_validate(catalog.template_to_json(t))
