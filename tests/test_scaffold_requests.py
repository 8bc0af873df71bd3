"""Every request type of the installed SDK against the generated back end, on SQLite and on PostgreSQL.

Each request type (enumerated from `chatkit.types.ChatKitReq` at run time) either works end to end or is refused
with a 4xx and the stable body `{"code", "detail"}`: never a 500, never a 200 stream that breaks off, and a refused
request writes nothing (the database is compared row by row). Then the failures of issue 19, one test each:
attachments that work and stay with their owner, NUL and lone surrogates from the token, the model and the tools,
requests the server does not offer, and the production posture (docs off, generic 401, short error bodies, header
and Content-Type limits).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from scaffold_support import chatkit_client as ck
from scaffold_support.backends import ATTACHMENT_MAX_BYTES, Backend, booted_backend
from scaffold_support.postgres import postgres_server  # noqa: F401 (a fixture)
from scaffold_support.requests import body_for, is_streaming, request_types

from chatkit_fix.verify import protocol
from chatkit_fix.verify.fake_openai import FakeScript

pytestmark = pytest.mark.slow

STABLE_CODES = {
    "invalid_request", "not_found", "unsupported_request", "unauthorized", "attachment_too_large",
    "attachment_type_not_allowed", "attachment_not_uploaded", "too_many_attachments", "already_uploaded",
    "invalid_upload", "body_too_large", "headers_too_large", "unsupported_media_type",
}
# What the generated server does not offer (it overrides no action, sync_action or transcribe hook).
UNSUPPORTED = {"threads.custom_action", "threads.sync_custom_action", "input.transcribe"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    postgres_url = request.getfixturevalue("postgres_server") if request.param == "postgres" else None
    with booted_backend(request.param, tmp_path_factory.mktemp(f"requests-{request.param}"), postgres_url) as running:
        yield running


def assert_refused(response: httpx.Response, status: int | None = None, code: str | None = None) -> dict:
    """A 4xx with the stable error body; `status` and `code` when the test knows which."""
    assert 400 <= response.status_code < 500, f"{response.status_code} {response.text[:300]}"
    assert status is None or response.status_code == status, f"{response.status_code} {response.text[:300]}"
    body = response.json()
    assert set(body) == {"code", "detail"} and body["code"] in STABLE_CODES, body
    assert code is None or body["code"] == code, body
    assert len(body["detail"]) <= 300
    return body


def rows_of(backend: Backend, user: str) -> dict[str, list[tuple]]:
    return {table: [row for row in rows if user in map(str, row)] for table, rows in backend.rows().items()}


# ---- every request type ---------------------------------------------------------------------------------------------


def values_for(backend: Backend, user: str, item: str) -> dict[str, Any]:
    """Ids `user` owns: a thread with one turn (`item` picks its user or assistant message), two uploaded files."""
    thread_id = backend.converse(user, "hello")
    items = {entry["type"]: entry["id"] for entry in backend.items(thread_id, user)}
    attachment = backend.uploaded_attachment(user, b"file content")
    second = backend.uploaded_attachment(user, b"more content")
    return {
        "thread_id": thread_id,
        "item_id": items[item],
        "item_ids": [items[item]],
        "attachment_id": attachment["id"],
        "attachments": [second["id"]],
        "text": "hello again",
        "title": "renamed",
        "name": "notes.txt",
        "size": 12,
        "mime_type": "text/plain",
        "audio_base64": base64.b64encode(b"audio").decode(),
    }


@pytest.mark.parametrize("request_type", sorted(request_types()))
def test_every_request_type_works_or_is_refused_with_a_4xx(backend: Backend, request_type: str) -> None:
    slug = request_type.replace(".", "-")
    for variant, item in (("user-item", "user_message"), ("assistant-item", "assistant_message")):
        user = f"owner-{slug}-{variant}"
        body = body_for(request_type, values_for(backend, user, item))
        before = backend.rows()
        response = backend.post(body, user)
        if response.status_code == 200:
            if is_streaming(body):
                events = ck.sse_events(response.text)  # the whole body was read: the stream ended, not broke off
                assert not [event for event in events if event["type"] == "error"], events
            else:
                response.json()
            assert request_type not in UNSUPPORTED
        else:
            assert_refused(response)
            assert backend.rows() == before, f"{request_type} was refused but wrote to the database"

    victim = f"victim-{slug}"
    foreign = values_for(backend, victim, "user_message")
    unknown = {key: "missing-id" if key.endswith("_id") else value for key, value in foreign.items()}
    unknown.update(item_ids=["missing-id"], attachments=["missing-id"])
    for label, values in (("another user's ids", foreign), ("unknown ids", unknown)):
        victim_rows = rows_of(backend, victim)
        response = backend.post(body_for(request_type, values), f"mallory-{slug}")
        assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
        if response.status_code != 200:
            assert_refused(response)
        assert rows_of(backend, victim) == victim_rows, f"{request_type} with {label} changed the victim's rows"


# ---- the repros of issue 19 -----------------------------------------------------------------------------------------


def test_requests_the_server_does_not_offer_get_400(backend: Backend) -> None:
    thread_id = backend.converse("nadia", "hi")
    before = backend.rows()
    action = {"thread_id": thread_id, "item_id": None, "action": {"type": "x", "payload": {}}}
    for body in (
        {"type": "input.transcribe", "params": {"audio_base64": "AAAA", "mime_type": "audio/webm"}},
        {"type": "threads.sync_custom_action", "params": action},
        {"type": "threads.custom_action", "params": action},
    ):
        assert_refused(backend.post(body, "nadia"), 400, "unsupported_request")
    assert backend.rows() == before


def test_requests_that_do_not_fit_the_thread_get_400_and_change_nothing(backend: Backend) -> None:
    thread_id = backend.converse("omar", "hi")
    items = backend.items(thread_id, "omar")
    assistant = next(item["id"] for item in items if item["type"] == "assistant_message")
    before = backend.rows()
    for body in (
        {"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": assistant}},
        {"type": "threads.add_client_tool_output", "params": {"thread_id": thread_id, "result": {"ok": True}}},
        {"type": "threads.add_structured_input",
         "params": {"thread_id": thread_id, "item_id": assistant, "input": {"status": "answered", "answers": {}}}},
    ):
        assert_refused(backend.post(body, "omar"), 400, "invalid_request")
    missing = {"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": "msg_missing"}}
    assert_refused(backend.post(missing, "omar"), 404, "not_found")
    assert backend.rows() == before
    user_item = next(item["id"] for item in items if item["type"] == "user_message")
    retried = backend.stream({"type": "threads.retry_after_item",
                              "params": {"thread_id": thread_id, "item_id": user_item}}, "omar")
    assert ck.assistant_texts(retried), "a retry after the user's own message answers again"


def test_a_new_thread_naming_a_missing_attachment_is_refused_and_leaves_no_thread(backend: Backend) -> None:
    backend.converse("pia", "an earlier thread")
    threads_before, rows_before = backend.thread_ids("pia"), backend.rows()
    for attachments in (["atc_does_not_exist"], [backend.uploaded_attachment("quentin", b"not pia's")["id"]]):
        rows_before = backend.rows()
        response = backend.post(protocol.threads_create("see attached", attachments=attachments), "pia")
        assert_refused(response, 404, "not_found")
        assert backend.thread_ids("pia") == threads_before
        assert backend.rows() == rows_before


def test_attachments_upload_use_and_stay_with_their_owner(backend: Backend) -> None:
    marker = b"the-attachment-marker-7f3a"
    attachment = backend.uploaded_attachment("rosa", marker + b" and more text")
    attachment_url = attachment["upload_descriptor"]["url"].removesuffix("/upload")

    read = backend.client.get(attachment_url, headers=ck.bearer("rosa"))
    assert read.status_code == 200 and read.content.startswith(marker)
    assert read.headers["x-content-type-options"] == "nosniff"

    model_calls = len(backend.fake.requests)
    thread_id = backend.converse("rosa", "what does the file say?", attachments=[attachment["id"]])
    sent_to_model = "".join(str(request.body) for request in backend.fake.requests[model_calls:])
    assert marker.decode() in sent_to_model, "the model did not get the attachment's content"
    message = next(item for item in backend.items(thread_id, "rosa") if item["type"] == "user_message")
    assert [a["id"] for a in message["attachments"]] == [attachment["id"]]
    assert message["attachments"][0]["thread_id"] == thread_id

    # Another user can neither read, use nor delete it.
    assert_refused(backend.client.get(attachment_url, headers=ck.bearer("sam")), 404, "not_found")
    assert_refused(backend.post(protocol.threads_create("mine now", attachments=[attachment["id"]]), "sam"), 404)
    assert backend.thread_ids("sam") == []
    delete = {"type": "attachments.delete", "params": {"attachment_id": attachment["id"]}}
    assert_refused(backend.post(delete, "sam"), 404, "not_found")
    assert backend.client.get(attachment_url, headers=ck.bearer("rosa")).content.startswith(marker)

    # The owner can; deleting the thread deletes the attachments its messages carried.
    second = backend.uploaded_attachment("rosa", b"second file")
    assert backend.post(delete, "rosa").json() == {}
    assert_refused(backend.client.get(attachment_url, headers=ck.bearer("rosa")), 404)
    other_thread = backend.converse("rosa", "and this one", attachments=[second["id"]])
    assert backend.post(protocol.threads_delete(other_thread), "rosa").status_code == 200
    second_url = second["upload_descriptor"]["url"].removesuffix("/upload")
    assert_refused(backend.client.get(second_url, headers=ck.bearer("rosa")), 404)
    assert not [row for rows in backend.rows().values() for row in rows if second["id"] in map(str, row)]


def test_attachment_limits_and_the_upload_protocol(backend: Backend) -> None:
    assert_refused(backend.create_attachment("tara", size=ATTACHMENT_MAX_BYTES + 1), 400, "attachment_too_large")
    assert_refused(backend.create_attachment("tara", "page.html", "text/html"), 400, "attachment_type_not_allowed")
    assert_refused(backend.create_attachment("tara", mime_type=""), 400, "attachment_type_not_allowed")

    created = backend.create_attachment("tara").json()
    not_uploaded = backend.post(protocol.threads_create("too early", attachments=[created["id"]]), "tara")
    assert_refused(not_uploaded, 409, "attachment_not_uploaded")
    assert_refused(backend.upload(created, b"x" * (ATTACHMENT_MAX_BYTES + 1)), 413, "attachment_too_large")
    assert_refused(backend.upload(created, b"x" * (2 * ATTACHMENT_MAX_BYTES)), 413, "body_too_large")
    descriptor = created["upload_descriptor"]
    assert_refused(backend.client.post(descriptor["url"], headers=descriptor["headers"], content=b"raw bytes"),
                   415, "unsupported_media_type")
    assert_refused(backend.client.post(descriptor["url"], headers=descriptor["headers"], data={"other": "field"}),
                   415, "unsupported_media_type")
    no_file = backend.client.post(descriptor["url"], headers=descriptor["headers"], files={"other": ("a", b"b")})
    assert_refused(no_file, 400, "invalid_upload")
    # The upload token is for this attachment and this user only; the user's own bearer token works too.
    other = backend.create_attachment("tara").json()
    swapped = {**other, "upload_descriptor": {**other["upload_descriptor"], "headers": descriptor["headers"]}}
    assert_refused(backend.upload(swapped, b"data"), 401, "unauthorized")
    assert_refused(backend.upload(created, b"data", headers={"X-ChatKit-Upload-Token": "forged"}), 401)
    bearer_only = {**created, "upload_descriptor": {**descriptor, "headers": ck.bearer("tara")}}
    assert_refused(backend.upload({**created, "upload_descriptor": {**descriptor, "headers": ck.bearer("uma")}},
                                  b"data"), 404, "not_found")
    assert backend.upload(bearer_only, b"data").status_code == 200
    assert_refused(backend.upload(created, b"again"), 409, "already_uploaded")

    too_many = [backend.uploaded_attachment("tara", b"x")["id"] for _ in range(5)]
    assert_refused(backend.post(protocol.threads_create("five", attachments=too_many), "tara"), 400,
                   "too_many_attachments")


def test_image_previews_load_by_their_url_alone(backend: Backend) -> None:
    image = backend.uploaded_attachment("vera", b"\x89PNG\r\n\x1a\nnot really", "pixel.png", "image/png")
    assert image["type"] == "image"
    preview = backend.client.get(image["preview_url"])
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")
    assert preview.headers["content-type"] == "image/png"
    other = backend.uploaded_attachment("vera", b"GIF89a", "other.gif", "image/gif")
    token = image["preview_url"].split("token=")[1]
    assert_refused(backend.client.get(f"{other['preview_url'].split('?')[0]}?token={token}"), 401, "unauthorized")
    backend.post({"type": "attachments.delete", "params": {"attachment_id": image["id"]}}, "vera")
    assert_refused(backend.client.get(image["preview_url"]), 404, "not_found")


@pytest.mark.parametrize("subject", ["nul\u0000user", "surrogate\ud800user", "", "x" * 300])
def test_token_subjects_no_store_can_key_get_401(backend: Backend, subject: str) -> None:
    token = jwt.encode({"sub": subject, "exp": 4102444800}, ck.TEST_JWT_SECRET, algorithm="HS256")
    response = backend.post(protocol.threads_list(), headers={"Authorization": f"Bearer {token}"})
    assert_refused(response, 401, "unauthorized")


@pytest.mark.parametrize("source", ["model", "tool"])
def test_nul_and_lone_surrogates_from_the_model_and_tools_are_stored_safely(backend: Backend, source: str) -> None:
    user = f"yara-{source}"
    if source == "model":
        script = FakeScript(tool_call="never", reply="a\u0000b\ud800c {last_user_text}")
        expected = "a\ufffdb\ufffdc first"
    else:
        script = FakeScript(tool_call="add_note", tool_arguments={"add_note": {"text": "n\u0000l"}})
        expected = f"Tool said: Saved note 1 for {user}: n\ufffdl"
    backend.fake.script = script
    try:
        events = backend.stream(protocol.threads_create("first"), user)
        assert ck.assistant_texts(events) == [expected]
        thread_id = events[0]["thread"]["id"]
        backend.stream(protocol.threads_add_user_message(thread_id, "second"), user)  # reads the history back
    finally:
        backend.fake.script = FakeScript()
    stored = [item for item in backend.items(thread_id, user) if item["type"] == "assistant_message"]
    assert protocol.message_text(stored[0]) == expected


def test_a_lone_surrogate_in_tool_arguments_ends_the_turn_with_an_error_event(backend: Backend) -> None:
    """The Agents SDK itself cannot encode such arguments (it fingerprints them as UTF-8): the turn ends with an
    `error` event, a whole stream, nothing half-written, and the thread goes on."""
    backend.fake.script = FakeScript(tool_call="add_note", tool_arguments={"add_note": {"text": "n\udc00l"}})
    try:
        response = backend.post(protocol.threads_create("first"), "yann")
    finally:
        backend.fake.script = FakeScript()
    events = ck.sse_events(response.text)
    assert response.status_code == 200 and events[-1]["type"] == "error", events
    thread_id = events[0]["thread"]["id"]
    backend.stream(protocol.threads_add_user_message(thread_id, "again"), "yann")
    assert [item["type"] for item in backend.items(thread_id, "yann")] == [
        "user_message", "user_message", "assistant_message"
    ]


def test_nul_in_a_request_is_refused(backend: Backend) -> None:
    assert_refused(backend.post(protocol.threads_create("a\u0000b"), "zoe"), 400, "invalid_request")
    assert backend.thread_ids("zoe") == []


# ---- production posture ---------------------------------------------------------------------------------------------


def test_api_docs_are_off(backend: Backend) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert backend.client.get(path).status_code == 404


def test_401_bodies_are_generic_and_the_reason_is_logged(backend: Backend) -> None:
    mark = len(backend.server.log())
    expired = backend.post(protocol.threads_list(), headers=ck.bearer("amy", expires_in=-60))
    body = assert_refused(expired, 401, "unauthorized")
    assert "expired" not in body["detail"].lower() and expired.headers["www-authenticate"] == "Bearer"
    forged = backend.post(protocol.threads_list(), headers=ck.bearer("amy", secret="x" * 40))
    assert forged.json() == body
    log = backend.server.log()[mark:]
    assert "Signature has expired" in log and "Signature verification failed" in log


def test_error_bodies_show_ids_shortened(backend: Backend) -> None:
    long_id = "thr_" + "A" * 100_000
    for body in (protocol.threads_get_by_id(long_id), protocol.threads_add_user_message(long_id, "hi"),
                 {"type": "attachments.delete", "params": {"attachment_id": long_id}}):
        response = backend.post(body, "ben")
        assert_refused(response, 404, "not_found")
        assert len(response.content) < 400


def test_oversized_headers_and_bodies_are_refused(backend: Backend) -> None:
    huge_token = {"Authorization": "Bearer " + "a" * 1_000_000}
    response = backend.post(protocol.threads_list(), headers=huge_token)
    assert 400 <= response.status_code < 500, response.status_code  # 431 from the app, or the HTTP server's own 4xx
    many = {f"X-Filler-{index}": "y" * 1000 for index in range(20)}
    assert_refused(backend.post(protocol.threads_list(), "ben", headers=many), 431, "headers_too_large")
    assert_refused(backend.post(protocol.threads_create("x" * 1_100_000), "ben"), 413, "body_too_large")


def test_content_type_is_enforced(backend: Backend) -> None:
    body = b'{"type": "threads.list", "params": {}}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = backend.client.post("/chatkit", content=body, headers={**ck.bearer("cleo"),
                                                                          "Content-Type": content_type})
        assert_refused(response, 415, "unsupported_media_type")
    bare = backend.client.post("/chatkit", content=body, headers=ck.bearer("cleo"))
    assert_refused(bare, 415, "unsupported_media_type")
    charset = backend.client.post("/chatkit", content=body, headers={**ck.bearer("cleo"),
                                                                    "Content-Type": "application/json; charset=utf-8"})
    assert charset.status_code == 200


def test_the_stable_error_codes_are_the_generated_ones(tmp_path: Path) -> None:
    """STABLE_CODES above is what the generated code can answer: a code added there must be added here."""
    import re

    from scaffold_support.projects import generate

    generate(tmp_path, framework="none")
    sources = "".join(path.read_text() for path in (tmp_path / "backend").glob("*.py"))
    answered = set(re.findall(r'RequestRefused\(\s*\d+,\s*"([a-z_]+)"', sources))
    answered |= set(re.findall(r'\(\s*4\d\d,\s*"([a-z_]+)"', sources))
    assert answered == STABLE_CODES
