"""A custom `api.fetch` rewrites or re-serialises ChatKit's request bodies, or invents request types.

## Why
ChatKit's requests are its protocol: a JSON body discriminated on `type` (`threads.create`,
`threads.add_user_message`, `items.feedback`, …) that `ChatKitServer.process()` validates with pydantic, and
`multipart/form-data` for direct attachment uploads. A custom fetch that parses and re-serialises the body, adds or
renames fields, or builds its own `{ type: "threads.…" }` requests drifts from the protocol with every ChatKit
release: the server answers 400/500 (`union_tag_invalid`, missing `params`), uploads lose their files, and streams
break in ways ChatKit reports only as a generic error. `api.fetch` is for transport concerns (headers,
credentials, retries); per-request data belongs in headers or in the server's request context.

The rule follows `api.fetch` in its three shapes and reports `JSON.parse(init.body)`, a `body:` other than
`init.body`, assignments to `init.body`, and request objects with a ChatKit `type` built inside the fetch. It has no
automatic fix.

## Wrong
```tsx
fetch: async (input, init) => {
  const body = JSON.parse(String(init?.body));
  body.metadata = { userId };
  return fetch(input, { ...init, body: JSON.stringify(body) });
},
```

## Right
```tsx
fetch: async (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set("X-User-Id-Hint", userId);  // or resolve the user from the token on the server
  return fetch(input, { ...init, headers });
},
```
"""

from __future__ import annotations

from chatkit_fix.analysis.frontend import (
    check_frontend,
    fetch_functions,
    find_all,
    first_line_span,
    function_parameters,
    property_key,
    span,
    string_value,
    unwrap,
)
from chatkit_fix.codemods._cases import VITE_DEV_PACKAGE, vite_app
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK110",
    slug="fetch-rewrites-body",
    safety=Safety.REPORT,
    summary="custom api.fetch rewrites or re-serialises request bodies, or invents ChatKit request types",
    url="https://openai.github.io/chatkit-python/server",
    languages=("tsx",),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)

REQUEST_PREFIXES = ("threads.", "items.", "attachments.")


@check_frontend(RULE)
def check(pctx, model):
    for path, function in fetch_functions(model):
        problems = list(_problems(function))
        if not problems:
            continue
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        problems.sort(key=lambda item: span(item[0]))
        anchor = first_line_span(ctx.text, problems[0][0])
        what = "; ".join(dict.fromkeys(reason for _, reason in problems))
        yield ctx.finding(anchor, f"custom api.fetch {what}: ChatKit's protocol bodies must reach the server as sent",
                          hint="pass init.body through untouched; send extra data as headers or derive it on the server")


def _is_init_body(node, init: str | None) -> bool:
    node = unwrap(node)
    if node is None or node.kind() != "member_expression" or init is None:
        return False
    obj = unwrap(node.field("object"))
    return node.field("property").text() == "body" and obj is not None and obj.kind() == "identifier" and obj.text() == init


def _problems(function):
    params = function_parameters(function)
    init = params[1] if len(params) > 1 and params[1] else None
    for call in find_all(function, "call_expression"):
        callee = call.field("function")
        if callee is not None and callee.text() == "JSON.parse":
            args = call.field("arguments").text()
            if ".body" in args or (init is not None and init in args):
                yield call, "parses the request body"
    for pair in find_all(function, "pair"):
        key = property_key(pair)
        value = pair.field("value")
        if key == "body" and value is not None and not _is_init_body(value, init):
            yield pair, "replaces the request body"
        if key == "type":
            literal = string_value(unwrap(value))
            if literal and literal.startswith(REQUEST_PREFIXES):
                yield pair, f"builds its own `{literal}` request"
    for assignment in find_all(function, "assignment_expression"):
        left = assignment.field("left")
        if left is not None and left.kind() == "member_expression" and left.field("property").text() == "body":
            yield assignment, "rewrites the request body"


CHAT = '''import { ChatKit, useChatKit } from "@openai/chatkit-react";

export function Chat({ userId }: { userId: string }) {
  const chatkit = useChatKit({
    api: {
      url: "/chatkit",
      domainKey: "domain_pk_localhost_dev",
@FETCH@
    },
  });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
'''


def _vite(fetch: str, **extra: str) -> dict[str, str]:
    return vite_app("Chat", CHAT.replace("@FETCH@", fetch.rstrip("\n")), named=True, props='userId="u1"',
                    package=VITE_DEV_PACKAGE, **extra)


RULE.cases(
    valid=[
        Valid(_vite('''      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set("X-User", userId);
        return fetch(input, { ...init, headers });
      },'''), name="headers only"),
        Valid(_vite('''      async fetch(input: RequestInfo | URL, init?: RequestInit) {
        return fetch(input, { method: init?.method, body: init?.body, headers: init?.headers, credentials: "include" });
      },'''), name="body passed through"),
        Valid(_vite('''      fetch: async (input, init) => {
        const hasBody = Boolean(init?.body);
        console.log(init, hasBody);
        const event = { at: Date.now(), event: "threads.create" };
        let tries = 0;
        tries = tries + 1;
        const copy = { ...init };
        copy.headers = new Headers(init?.headers);
        void event;
        return fetch(input, { ...init, headers: copy.headers });
      },'''), name="logs, telemetry and a copied init: the body untouched"),
    ],
    invalid=[
        Invalid(_vite('''      fetch: async (input, init) => {
        const body = JSON.parse(String(init?.body));
        body.metadata = { userId };
        return fetch(input, { ...init, body: JSON.stringify(body) });
      },'''), None, findings=[("src/Chat.tsx", 9, 22, "custom api.fetch parses the request body; replaces the request body")], name="parse and re-serialise"),
        Invalid({**_vite("      fetch: rewrite,"), "src/Chat.tsx": CHAT.replace("@FETCH@", "      fetch: rewrite,").replace(
            "export function Chat", '''function rewrite(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = { type: "threads.create", params: { input: { content: [] } } };
  return fetch(input, { ...init, body: init?.method === "POST" ? JSON.stringify(request) : init?.body });
}

export function Chat''')}, None, findings=[("src/Chat.tsx", 4, 21, "custom api.fetch builds its own `threads.create` request")], name="named function inventing a request type"),
        Invalid(_vite('''      fetch: async (input, init) => {
        const cached = await caches.match(input);
        return fetch(input, { ...init, body: cached ? cached.body : init?.body });
      },'''), None, findings=[("src/Chat.tsx", 10, 40, "custom api.fetch replaces the request body")],
                name="a body from a cached response"),
        Invalid(_vite('''      fetch: async (input, init) => {
        const saved = new Request(input, init);
        return fetch(input, { ...init, body: saved.body });
      },'''), None, findings=[("src/Chat.tsx", 10, 40, "custom api.fetch replaces the request body")],
                name="a body from another request"),
    ],
)
