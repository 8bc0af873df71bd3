"""A custom `api.fetch` rewrites or re-serialises ChatKit's request bodies, or invents request types.

## Why
ChatKit's requests are its protocol: a JSON body discriminated on `type` (`threads.create`,
`threads.add_user_message`, `items.feedback`, …) that `ChatKitServer.process()` validates with pydantic, and
`multipart/form-data` for direct attachment uploads. A custom fetch that parses and re-serialises the body, adds or
renames fields, or builds its own `{ type: "threads.…" }` requests drifts from the protocol with every ChatKit
release: the server answers 400/500 (`union_tag_invalid`, missing `params`), uploads lose their files, and streams
break in ways ChatKit reports only as a generic error. `api.fetch` is for transport concerns (headers,
credentials, retries); per-request data belongs in headers or in the server's request context.

The rule follows `api.fetch` in its three shapes (through imports, factories, a component's props and a static
page's inline scripts) and ChatKit's body through locals, copies of `init` and the helpers it is handed to. It
reports a fetch that sends another body (`body:` other than `init.body`, an assignment to the body of `init` or of
a copy) or builds requests with a ChatKit `type`, naming the parse it rewrites from; a fetch that only reads the
body (to log it, to pick a header) and sends it unchanged is fine. It has no automatic fix.

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
    ancestors,
    check_frontend,
    fetch_functions,
    find_all,
    first_line_span,
    FetchFlow,
    is_function,
    property_key,
    span,
    string_value,
    unwrap,
)
from chatkit_fix.codemods._cases import VITE_DEV_PACKAGE, VITE_HTML, vite_app, vite_main
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK110",
    slug="fetch-rewrites-body",
    safety=Safety.REPORT,
    summary="custom api.fetch rewrites or re-serialises request bodies, or invents ChatKit request types",
    url="https://openai.github.io/chatkit-python/server",
    languages=("tsx", "html"),
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
        # the finding sits in the fetch's own code: a helper's rewrite shows where the fetch hands it the body
        anchor = next((node for node, _ in problems if not _in_helper(node, function)), problems[0][0])
        what = "; ".join(dict.fromkeys(reason for _, reason in problems))
        yield ctx.finding(first_line_span(ctx.text, anchor),
                          f"custom api.fetch {what}: ChatKit's protocol bodies must reach the server as sent",
                          hint="pass init.body through untouched; send extra data as headers or derive it on the server")


PARSES = "parses the request body"
REPLACES = "replaces the request body"
REWRITES = "rewrites the request body"


def _is_init_body(node, flow: FetchFlow) -> bool:
    node = unwrap(node)
    return node is not None and node.kind() == "member_expression" and flow.is_body(node)


def _in_helper(node, function) -> bool:
    """Whether `node` sits in a function nested in the fetch (a helper it calls), not in the fetch's own body."""
    for ancestor in ancestors(node):
        if ancestor == function:
            return False
        if is_function(ancestor):
            return True
    return False


def _problems(function):
    """The rewrites of a fetch, when it sends a body other than ChatKit's or invents a request; a fetch that only
    reads the body (to log it, to pick a header) and sends it unchanged is fine."""
    found = list(_rewrites(function))
    if any(reason != PARSES for _, reason in found):
        yield from found


def _sends_other_body(value, flow: FetchFlow) -> bool:
    """A `body` value that is not ChatKit's own: anything but `init.body`, or a local also given something else."""
    value = unwrap(value)
    if value is None:
        return False
    # a local, also as a shorthand `{ ...init, body }`
    if value.kind() in ("identifier", "shorthand_property_identifier") and value.text() in flow.values:
        return any(not flow.is_body(v) for v in flow.values[value.text()])
    return not _is_init_body(value, flow)


def _rewrites(function):
    flow = FetchFlow(function)
    for call in find_all(function, "call_expression"):
        callee = call.field("function")
        if callee is not None and callee.text() == "JSON.parse":
            args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
            if args and flow.is_body(args[0]):
                yield call, PARSES
    for pair in find_all(function, "pair"):
        key = property_key(pair)
        value = pair.field("value")
        if key == "body" and value is not None and _sends_other_body(value, flow):
            yield pair, REPLACES
        if key == "type":
            literal = string_value(unwrap(value))
            if literal and literal.startswith(REQUEST_PREFIXES):
                yield pair, f"builds its own `{literal}` request"
    for shorthand in find_all(function, "shorthand_property_identifier"):
        if shorthand.text() == "body" and _sends_other_body(shorthand, flow):
            yield shorthand, REPLACES
    for assignment in find_all(function, "assignment_expression"):
        left = assignment.field("left")
        if left is not None and left.kind() == "member_expression" and left.field("property").text() == "body" and \
                flow.is_init(left.field("object")):
            yield assignment, REWRITES


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

SURFACE = """import { useMemo } from "react";
import { ChatKit, useChatKit, type UseChatKitOptions } from "@openai/chatkit-react";

export function ChatSurface({ options, className }: { options: UseChatKitOptions; className?: string }) {
  const themed = useMemo<UseChatKitOptions>(() => ({ ...options, theme: "dark" }), [options]);
  const { control } = useChatKit(themed);
  return <ChatKit control={control} className={className ?? "h-[600px] w-full"} />;
}
"""
WORKFLOW_CHAT = """import { useMemo } from "react";
import type { UseChatKitOptions } from "@openai/chatkit-react";
import { ChatSurface } from "./ChatSurface";
import { makeWorkflowFetch } from "./lib/workflowFetch";

export function WorkflowChat({ workflow }: { workflow: string }) {
  const options = useMemo<UseChatKitOptions>(() => {
    const domainKey = "domain_pk_localhost_dev";
    return { api: { url: "/api/chatkit", domainKey, fetch: makeWorkflowFetch(workflow) } };
  }, [workflow]);
  return <ChatSurface options={options} />;
}
"""
WORKFLOW_FETCH = """export const makeWorkflowFetch = (workflow: string): typeof fetch => {
  return async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const next: RequestInit = { ...init, credentials: "include" };
    const addWorkflow = (raw: string) => {
      const payload = JSON.parse(raw);
      payload.workflow_id = workflow;
      return JSON.stringify(payload);
    };
    if (typeof next.body === "string") {
      next.body = addWorkflow(next.body);
    }
    return fetch(input, next);
  };
};
"""
TYPE_ROUTER = """      fetch: async (input, init) => {
        const request = JSON.parse(String(init?.body ?? "{}"));
        const headers = new Headers(init?.headers);
        headers.set("X-Request-Type", request.type ?? "upload");
        return fetch(input, { ...init, headers });
      },"""
STATIC_PAGE = """<!doctype html>
<html>
  <head>
    <script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"></script>
  </head>
  <body>
    <openai-chatkit id="chat"></openai-chatkit>
    <script>
      function projectFetch(project) {
        return async (input, init = {}) => {
          let body = init.body;
          if (typeof body === "string") {
            const parsed = JSON.parse(body);
            parsed.metadata = { project };
            body = JSON.stringify(parsed);
          }
          return fetch(input, Object.assign({}, init, { body }));
        };
      }
      document.getElementById("chat").setOptions({
        api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev", fetch: projectFetch("p1") },
      });
    </script>
  </body>
</html>
"""


def _vite(fetch: str, **extra: str) -> dict[str, str]:
    return vite_app("Chat", CHAT.replace("@FETCH@", fetch.rstrip("\n")), named=True, props='userId="u1"',
                    package=VITE_DEV_PACKAGE, **extra)


ACCOUNT = CHAT.replace("export function Chat", "export function Account").replace("@FETCH@", '''      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set("X-User", userId);
        return fetch(input, { ...init, headers });
      },''')
ACCOUNT_AND_CHAT = ('import { createRoot } from "react-dom/client";\nimport { Account } from "./Account";\nimport { Chat } from "./Chat";\n\n'
                    'createRoot(document.getElementById("root")!).render(<><Account userId="u1" /><Chat userId="u1" /></>);\n')


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
        const metric = { value: "threads.list" };
        const defaults = JSON.parse("{}");
        const stats = { attempts: 0 };
        stats.attempts = 1;
        const counts = [0];
        counts[0] = 1;
        void event, metric, defaults, stats, counts;
        return fetch(input, { ...init, headers: copy.headers });
      },'''), name="logs, telemetry and a copied init: the body untouched"),
        Valid(_vite(TYPE_ROUTER), name="body only read to pick a header, sent unchanged"),
        Valid(_vite('''      fetch: (input) => fetch(input),'''), name="a fetch that takes no init"),
        Valid(_vite('''      fetch: async (input, init) => {
        const sent = init?.body;
        console.debug({ type: "request", at: Date.now() });
        return fetch(input, { ...init, body: sent });
      },'''), name="ChatKit's body sent from a local; a logged event with a type of its own"),
        Valid(_vite('''      fetch: async (input, init) => {
        const body = init?.body;
        return fetch(input, { ...init, body });
      },'''), name="ChatKit's body sent back as a shorthand property"),
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
        if (cached) return fetch(input, { ...init, body: cached.body });
        return fetch(input, init);
      },'''), None, findings=[("src/Chat.tsx", 10, 52, "custom api.fetch replaces the request body")],
                name="a body from a cached response"),
        Invalid(_vite('''      fetch: async (input, init) => {
        const saved = new Request(input, init);
        return fetch(input, { ...init, body: saved.body });
      },'''), None, findings=[("src/Chat.tsx", 10, 40, "custom api.fetch replaces the request body")],
                name="a body from another request"),
        Invalid({"package.json": VITE_DEV_PACKAGE, "index.html": VITE_HTML,
                 "src/main.tsx": vite_main("WorkflowChat", named=True, props='workflow="w1"'),
                 "src/WorkflowChat.tsx": WORKFLOW_CHAT, "src/ChatSurface.tsx": SURFACE,
                 "src/lib/workflowFetch.ts": WORKFLOW_FETCH}, None,
                findings=[("src/lib/workflowFetch.ts", 10, 7, "custom api.fetch parses the request body; rewrites the request body")],
                name="factory in another module, options passed to the ChatKit component as a prop, helper parsing its parameter"),
        Invalid({"index.html": STATIC_PAGE}, None,
                findings=[("index.html", 13, 28, "custom api.fetch parses the request body; replaces the request body")],
                name="static page: the body read into a local, parsed, and sent back through Object.assign"),
        Invalid({**_vite("      fetch: rewrite,"), "src/Chat.tsx": CHAT.replace("@FETCH@", "      fetch: rewrite,").replace(
            "export function Chat", '''function textOf(init?: RequestInit): string {
  return String(init?.body ?? "");
}

function rewrite(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const original = JSON.parse(textOf(init));
  if (init) init.body = JSON.stringify({ wrapped: original });
  return fetch(input, init);
}

export function Chat''')}, None, findings=[("src/Chat.tsx", 9, 13, "custom api.fetch rewrites the request body")],
                name="an init body assigned after parsing it through a helper"),
        Invalid(_vite('''      fetch: async (input, init) => {
        if (!Boolean(init?.body)) return fetch(input, init);
        return fetch(input, { ...init, body: String(init?.body) });
      },'''), None, findings=[("src/Chat.tsx", 10, 40, "custom api.fetch replaces the request body: ChatKit's")],
                name="the body converted to a string (an upload's FormData becomes text)"),
        Invalid(_vite('''      fetch: async (input, init) => {
        const payload = JSON.stringify({ ...JSON.parse(String(init?.body)), userId });
        return fetch(input, { ...init, body: payload });
      },'''), None, findings=[("src/Chat.tsx", 9, 45, "custom api.fetch parses the request body; replaces the request body")],
                name="a body built anew in a local"),
        Invalid(_vite('''      fetch: async (input, init) => {
        const send = (request?: RequestInit) => {
          const payload = JSON.parse(String(init?.body));
          return fetch(input, { ...request, body: JSON.stringify({ ...payload, userId }) });
        };
        return send(init);
      },'''), None, findings=[("src/Chat.tsx", 10, 27, "custom api.fetch parses the request body; replaces the request body")],
                name="every rewrite inside a nested helper: the finding at the first"),
        Invalid(_vite('''      fetch: async (input, init) => {
        navigator.sendBeacon("/chatkit", JSON.stringify({ type: "threads.list", params: { limit: 20 } }));
        return fetch(input, init);
      },'''), None, findings=[("src/Chat.tsx", 9, 59, "custom api.fetch builds its own `threads.list` request")],
                name="a request of its own sent beside ChatKit's"),
        Invalid({**_vite('''      fetch: async (input, init) => {
        const body = JSON.parse(String(init?.body));
        body.metadata = { userId };
        return fetch(input, { ...init, body: JSON.stringify(body) });
      },'''), "src/Account.tsx": ACCOUNT, "src/main.tsx": ACCOUNT_AND_CHAT}, None,
                findings=[("src/Chat.tsx", 9, 22, "custom api.fetch parses the request body; replaces the request body")],
                name="two custom fetches, the second rewriting"),
    ],
)
