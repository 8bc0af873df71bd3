"""Attacks on the back end `chatkit-fix init` generates (JWT auth, on SQLite and on PostgreSQL), booted as real
uvicorn processes.

Forged tokens get 401, foreign origins get no CORS grant, thread ids full of SQL metacharacters find nothing and
change nothing, another user's thread id is "not found", malformed bodies get 400 and oversized ones 413. Then every
request type of the installed SDK (enumerated at run time) gets hostile values in each of its fields. Nothing here
may ever answer 500, show one user's data to another, or change a row it had no right to change: each test
compares the database row by row before and after.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from scaffold_support import chatkit_client as ck
from scaffold_support import backends
from scaffold_support.backends import ALLOWED_ORIGIN, MAX_BODY_BYTES, booted_backend
from scaffold_support.postgres import postgres_server  # noqa: F401 (a fixture)
from scaffold_support.requests import body_for, leaf_paths, replaced, request_types

from chatkit_fix.verify import protocol

pytestmark = pytest.mark.slow

TWO_MIB = 2 * 1024 * 1024


@dataclass
class Backend(backends.Backend):
    alice_thread: str = ""  # the victim's thread, with two turns
    bob_thread: str = ""  # the attacker's own thread

    def thread_of(self, user: str, thread_id: str) -> tuple[dict, list[dict]]:
        """The thread as its owner sees it: metadata (with the title) and every item."""
        thread = self.post(protocol.threads_get_by_id(thread_id), user)
        items = self.post(protocol.items_list(thread_id), user)
        assert thread.status_code == 200 and items.status_code == 200, (thread.text, items.text)
        return thread.json(), items.json()["data"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    postgres_url = request.getfixturevalue("postgres_server") if request.param == "postgres" else None
    with booted_backend(request.param, tmp_path_factory.mktemp(f"attacked-{request.param}"), postgres_url) as running:
        attacked = Backend(**vars(running))
        attacked.alice_thread = converse(attacked, "alice", "alice's secret note")
        attacked.bob_thread = converse(attacked, "bob", "bob's own note")
        yield attacked


def converse(backend: Backend, user: str, text: str) -> str:
    thread_id = backend.converse(user, text)
    assert ck.assistant_texts(backend.stream(protocol.threads_add_user_message(thread_id, f"{text}, again"), user))
    return thread_id


# ---- tokens ---------------------------------------------------------------------------------------------------------


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user: str = "alice", **changes: Any) -> dict[str, Any]:
    claims = {"sub": user, "exp": int(time.time()) + 600, **changes}
    return {key: value for key, value in claims.items() if value is not None}


def _signed(claims: dict[str, Any], algorithm: str = "HS256", secret: str = ck.TEST_JWT_SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm=algorithm)}"}


def _unsigned(header_alg: str) -> dict[str, str]:
    """`alg: none` in any spelling, no signature: a token anyone can write."""
    return {"Authorization": f"Bearer {_b64({'alg': header_alg, 'typ': 'JWT'})}.{_b64(_claims())}."}


def _bob_signature_on_alice_claims() -> dict[str, str]:
    header, _, signature = ck.token("bob").split(".")
    return {"Authorization": f"Bearer {header}.{_b64(_claims('alice'))}.{signature}"}


FORGED_TOKENS = {
    "missing": dict,
    "not bearer": lambda: {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
    "empty bearer": lambda: {"Authorization": "Bearer"},
    "bearer twice": lambda: {"Authorization": f"Bearer Bearer {ck.token('alice')}"},
    "garbage": lambda: {"Authorization": "Bearer not.a.jwt"},
    "expired": lambda: ck.bearer("alice", expires_in=-120),
    "wrong secret": lambda: ck.bearer("alice", secret="another-secret-that-is-long-enough-for-hs256"),
    "alg none": lambda: ck.bearer("alice", algorithm="none"),
    "alg None": lambda: _unsigned("None"),
    "alg NONE": lambda: _unsigned("NONE"),
    "HS512 with the right secret": lambda: _signed(_claims(), algorithm="HS512"),
    "bob's signature on alice's claims": _bob_signature_on_alice_claims,
    "no exp": lambda: _signed(_claims(exp=None)),
    "no sub": lambda: _signed(_claims(sub=None)),
    "sub not a string": lambda: _signed(_claims(sub=None) | {"sub": 42}),
    "not valid yet": lambda: _signed(_claims(nbf=int(time.time()) + 600)),
    "user id header only": lambda: {"X-User-ID": "alice"},
    "token as cookie only": lambda: {"Cookie": f"access_token={ck.token('alice')}"},
}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery's key
@pytest.mark.parametrize("name", FORGED_TOKENS)
def test_forged_tokens_get_401(backend: Backend, name: str) -> None:
    before = backend.rows()
    headers = FORGED_TOKENS[name]()
    for body in (protocol.threads_list(), protocol.threads_get_by_id(backend.alice_thread), protocol.threads_create("let me in")):
        response = backend.post(body, headers=headers)
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert response.headers.get("www-authenticate") == "Bearer"
        assert backend.alice_thread not in response.text
    assert backend.rows() == before


def test_a_valid_token_is_accepted(backend: Backend) -> None:
    """The control for the forgeries above: the same request with a good token works."""
    response = backend.post(protocol.threads_list(), "alice")
    assert response.status_code == 200
    assert [thread["id"] for thread in response.json()["data"]] == [backend.alice_thread]


# ---- CORS -----------------------------------------------------------------------------------------------------------

FOREIGN_ORIGINS = [
    "https://evil.example",
    "null",
    f"{ALLOWED_ORIGIN}.evil.example",
    "https://localhost:5173",
    "http://localhost:51730",
    "http://localhost:3000",  # a generated default, but not in this deployment's CHATKIT_CORS_ORIGINS
]
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


def _no_cors_grant(response: httpx.Response, origin: str) -> None:
    assert response.headers.get("access-control-allow-origin") in (None, ALLOWED_ORIGIN), response.headers
    assert response.headers.get("access-control-allow-origin") != origin
    assert "access-control-allow-credentials" not in response.headers, response.headers


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_foreign_origins_get_no_cors_grant(backend: Backend, origin: str) -> None:
    preflight = backend.client.options("/chatkit", headers={"Origin": origin, **PREFLIGHT})
    assert preflight.status_code < 500
    _no_cors_grant(preflight, origin)
    for user in ("alice", None):  # an answered request and a refused one
        response = backend.post(protocol.threads_list(), user, headers={"Origin": origin})
        assert response.status_code == (200 if user else 401)
        _no_cors_grant(response, origin)


def test_the_configured_origin_gets_cors_without_credentials(backend: Backend) -> None:
    """The control: the one allowed origin is granted, for the preflight and the request, and never credentials."""
    preflight = backend.client.options("/chatkit", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    response = backend.post(protocol.threads_list(), "alice", headers={"Origin": ALLOWED_ORIGIN})
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    for answered in (preflight, response):
        assert "access-control-allow-credentials" not in answered.headers


# ---- thread ids made to break queries -------------------------------------------------------------------------------

HOSTILE_IDS = {
    "quote or true": "x' OR '1'='1",
    "drop table": '"; DROP TABLE threads; --',
    "delete items": "'; DELETE FROM items; --",
    "union select": "x' UNION SELECT id, data FROM threads --",
    "like wildcards": "%",
    "underscore": "thr_%",
    "url-encoded nul": "%00",
    "nul": "\x00",
    "nul then quote": "\x00' OR 1=1 --",
    "empty": "",
    "very long": "thr_" + "A" * 200_000,
    "unicode": "thr_日本語🙂",
    "right-to-left override": "thr_\u202egnp.exe",
}


def _hostile_ids(backend: Backend) -> dict[str, str]:
    """The fixed ids plus ones built on the victim's real id, trying to widen its user scope."""
    alice = backend.alice_thread
    return {
        **HOSTILE_IDS,
        "victim id or true": f"{alice}' OR '1'='1",
        "victim id comment": f"{alice}' --",
        "victim id user bypass": f"{alice}' AND user_id != '",
        "victim id upper": alice.upper(),
        "victim id padded": f" {alice} ",
    }


def _requests_on(thread_id: str) -> dict[str, dict[str, Any]]:
    return {
        "threads.get_by_id": protocol.threads_get_by_id(thread_id),
        "items.list": protocol.items_list(thread_id),
        "threads.add_user_message": protocol.threads_add_user_message(thread_id, "hostile"),
        "threads.update": {"type": "threads.update", "params": {"thread_id": thread_id, "title": "pwned"}},
        "threads.retry_after_item": {
            "type": "threads.retry_after_item",
            "params": {"thread_id": thread_id, "item_id": "msg_x"},
        },
        "threads.delete": {"type": "threads.delete", "params": {"thread_id": thread_id}},
    }


def assert_not_found(response: httpx.Response, request_type: str, secrets: list[str], label: str) -> None:
    """Not found: 404 (items.list answers an empty page and threads.delete `{}`, as the SDK does for any unknown
    thread). Never a 5xx, never a byte of the secrets."""
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
    for secret in secrets:
        assert secret not in response.text, f"{label}: leaked {secret!r}"
    if response.status_code == 400 and "NUL characters are not accepted" in response.text:
        return  # an id holding NUL is refused by the router before any store sees it
    if request_type == "items.list" and response.status_code == 200:
        assert response.json()["data"] == [], label
    elif request_type == "threads.delete" and response.status_code == 200:
        assert response.json() == {}, label
    else:
        assert response.status_code == 404, f"{label}: {response.status_code} {response.text[:300]}"


def test_hostile_thread_ids_find_nothing_and_change_nothing(backend: Backend) -> None:
    before = backend.rows()
    # the ids of both users' items and their texts; the victim's thread id itself is part of some hostile ids
    item_ids = [item["id"] for user, thread in (("alice", backend.alice_thread), ("bob", backend.bob_thread))
                for item in backend.thread_of(user, thread)[1]]
    secrets = [backend.bob_thread, "secret note", "own note", *item_ids]
    for name, thread_id in _hostile_ids(backend).items():
        for request_type, body in _requests_on(thread_id).items():
            response = backend.post(body, "mallory")
            assert_not_found(response, request_type, secrets, f"{name} / {request_type}")
        listed = backend.post({"type": "threads.list", "params": {"limit": 20, "after": thread_id}}, "mallory")
        own = backend.post({"type": "items.list", "params": {"thread_id": backend.bob_thread, "after": thread_id}}, "bob")
        if "\x00" in thread_id:  # refused by the router before any store sees it
            assert listed.status_code == own.status_code == 400, f"{name}: {listed.status_code} {own.status_code}"
            continue
        assert listed.status_code == 200 and listed.json()["data"] == [], f"{name} / threads.list after"
        assert own.status_code == 200 and backend.alice_thread not in own.text
    after = backend.rows()
    assert set(after) == set(before), "a table was dropped"
    assert after == before, "a hostile id changed the database"


# ---- another user's thread ------------------------------------------------------------------------------------------


def test_another_users_thread_is_not_found(backend: Backend) -> None:
    victim = backend.alice_thread
    alice_before = backend.thread_of("alice", victim)
    rows_before = backend.rows()
    secrets = ["secret note", *(item["id"] for item in alice_before[1])]
    for request_type, body in _requests_on(victim).items():
        response = backend.post(body, "bob")
        assert_not_found(response, request_type, secrets, f"bob / {request_type}")
    item_id = alice_before[1][0]["id"]
    for body in (
        {"type": "items.list", "params": {"thread_id": backend.bob_thread, "after": item_id}},
        {"type": "threads.list", "params": {"limit": 20, "after": victim}},
    ):
        response = backend.post(body, "bob")
        assert response.status_code == 200 and victim not in response.text and "secret note" not in response.text
    listed = backend.post(protocol.threads_list(), "bob").json()["data"]
    assert [thread["id"] for thread in listed] == [backend.bob_thread]

    assert backend.thread_of("alice", victim) == alice_before
    assert backend.rows() == rows_before


# ---- bodies ---------------------------------------------------------------------------------------------------------

MALFORMED_BODIES: dict[str, bytes | dict] = {
    "not json": b"{not json",
    "empty": b"",
    "truncated": b'{"type": "threads.list", "params": {',
    "null": b"null",
    "array": b"[]",
    "string": b'"threads.list"',
    "number": b"123",
    "invalid utf-8": b'{"type": "threads.list", "params": {"order": "\xff\xfe"}}',
    "lone surrogate": b'{"type": "threads.get_by_id", "params": {"thread_id": "\\ud800"}}',
    "nested 100k deep": b"[" * 100_000 + b"]" * 100_000,
    "no type": {"params": {}},
    "type not a string": {"type": 1, "params": {}},
    "unknown type": {"type": "no.such.request", "params": {}},
    "near-miss type": {"type": "threads.drop", "params": {"thread_id": "x"}},
    "empty type": {"type": "", "params": {}},
    "no params": {"type": "threads.list"},
    "params a string": {"type": "threads.list", "params": "all"},
    "thread id a number": {"type": "threads.get_by_id", "params": {"thread_id": 5}},
    "thread id null": {"type": "threads.get_by_id", "params": {"thread_id": None}},
    "thread id a list": {"type": "items.list", "params": {"thread_id": ["a", "b"]}},
    "limit a string": {"type": "threads.list", "params": {"limit": "ten"}},
    "order not asc or desc": {"type": "threads.list", "params": {"order": "asc; DROP TABLE threads"}},
    "content not a list": {
        "type": "threads.create",
        "params": {"input": {"content": "hi", "attachments": [], "inference_options": {}}},
    },
    "content part mistyped": {
        "type": "threads.create",
        "params": {"input": {"content": [{"type": "text", "text": "hi"}], "attachments": [], "inference_options": {}}},
    },
}
OVERSIZED_BODIES: dict[str, bytes | dict] = {
    "2 MiB message": protocol.threads_create("x" * TWO_MIB),
    "2 MiB of garbage": b"\x00" * TWO_MIB,
}


@pytest.mark.parametrize("name", MALFORMED_BODIES)
def test_malformed_bodies_get_400(backend: Backend, name: str) -> None:
    before = backend.rows()
    response = backend.post(MALFORMED_BODIES[name], "alice")
    assert response.status_code == 400, f"{name}: {response.status_code} {response.text[:300]}"
    assert response.json()["code"] == "invalid_request", response.text[:300]
    assert response.json()["detail"].startswith("invalid ChatKit request"), response.text[:300]
    assert backend.rows() == before


@pytest.mark.parametrize("name", OVERSIZED_BODIES)
def test_oversized_bodies_get_413(backend: Backend, name: str) -> None:
    before = backend.rows()
    response = backend.post(OVERSIZED_BODIES[name], "alice")
    assert response.status_code == 413, f"{name}: {response.status_code} {response.text[:300]}"
    assert response.json() == {
        "code": "body_too_large",
        "detail": f"request body exceeds CHATKIT_MAX_BODY_BYTES ({MAX_BODY_BYTES} bytes)",
    }
    assert backend.rows() == before


def test_oversized_body_without_content_length_gets_413(backend: Backend) -> None:
    chunks = iter([b'{"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "',
                   *([b"x" * 65536] * (TWO_MIB // 65536)), b'"}]}}}'])
    headers = {**ck.bearer("alice"), "Content-Type": "application/json"}
    response = backend.client.post("/chatkit", content=chunks, headers=headers)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text[:300]
    assert f"CHATKIT_MAX_BODY_BYTES ({MAX_BODY_BYTES} bytes)" in response.json()["detail"]


@pytest.mark.parametrize("limit", [-1, 0, 10**30])
@pytest.mark.parametrize("request_type", ["threads.list", "items.list"])
def test_out_of_range_page_limits_are_clamped_never_500(backend: Backend, request_type: str, limit: int) -> None:
    """The stores keep a client's page size between 1 and 100: never a 500, never everything at once."""
    params: dict[str, Any] = {"limit": limit}
    if request_type == "items.list":
        params["thread_id"] = backend.alice_thread
    response = backend.post({"type": request_type, "params": params}, "alice")
    assert response.status_code == 200, f"{response.status_code} {response.text[:300]}"
    assert 1 <= len(response.json()["data"]) <= 100


@pytest.mark.parametrize("request_type", ["threads.create", "threads.get_by_id"])
def test_nul_characters_are_refused_with_400(backend: Backend, request_type: str) -> None:
    """PostgreSQL text cannot hold NUL: the router refuses it for every store, before the store sees it."""
    if request_type == "threads.create":
        body = protocol.threads_create("a\u0000b")
    else:
        body = {"type": "threads.get_by_id", "params": {"thread_id": backend.alice_thread + "\u0000"}}
    response = backend.post(body, "alice")
    assert response.status_code == 400, f"{response.status_code} {response.text[:300]}"
    assert "NUL" in response.json()["detail"]
    escaped_backslash = backend.post(protocol.threads_create("a literal \\u0000 is just text"), "alice")
    assert escaped_backslash.status_code == 200, escaped_backslash.text[:300]


# ---- every request type, hostile values in every field ---------------------------------------------------------------

HOSTILE_VALUES: list[Any] = [
    "x' OR '1'='1",
    '"; DROP TABLE threads; --',
    "%",
    "\x00",
    "\x00' OR 1=1 --",
    "",
    "A" * 100_000,
    "thr_\u202egnp.exe",
    "../../../../etc/passwd",
    "javascript:alert(1)",
    -1,
    10**30,
    None,
    True,
    [],
    {"$gt": ""},
]


def _victim_rows(backend: Backend) -> dict[str, list[tuple]]:
    return {table: [row for row in rows if any(str(value) in ("alice", "bob") for value in row)]
            for table, rows in backend.rows().items()}


@pytest.mark.parametrize("request_type", sorted(request_types()))
def test_hostile_values_in_every_field_of_every_request_type(backend: Backend, request_type: str) -> None:
    """Mallory's requests, built from the SDK's own schema, aimed at alice's ids with each field made hostile in
    turn: never a 5xx, nothing of alice's or bob's in any answer, none of their rows changed."""
    alice_items = backend.thread_of("alice", backend.alice_thread)[1]
    values = {
        "thread_id": backend.alice_thread,
        "item_id": alice_items[0]["id"],
        "item_ids": [alice_items[0]["id"]],
        "attachment_id": "atc_missing",
        "attachments": [],
        "name": "a.txt",
        "size": 1,
        "mime_type": "text/plain",
    }
    body = body_for(request_type, values)
    # alice_items[0]'s id is in mallory's own request: a "not found" may name it
    secrets = ["secret note", "own note", backend.bob_thread, *(item["id"] for item in alice_items[1:])]
    before = _victim_rows(backend)
    paths = [path for path, _ in leaf_paths(body)] or [("params",)]
    for path in paths:
        for hostile in HOSTILE_VALUES:
            response = backend.post(replaced(body, path, hostile), "mallory")
            label = f"{request_type} {'.'.join(map(str, path))}={str(hostile)[:30]!r}"
            assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
            if response.status_code != 200:
                assert set(response.json()) == {"code", "detail"}, f"{label}: {response.text[:300]}"
            leaked = [secret for secret in secrets if secret in response.text]
            assert not leaked, f"{label}: leaked {leaked}"
    assert _victim_rows(backend) == before, f"{request_type}: mallory changed alice's or bob's rows"
