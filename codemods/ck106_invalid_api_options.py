"""ChatKit options the installed `@openai/chatkit` types reject: `api.headers`, `api.clientToken`, a custom `url`
without `domainKey`, `onMessage` and other unknown keys.

## Why
`useChatKit(options)` and `<openai-chatkit>.setOptions(options)` take `ChatKitOptions` (plus `on*` event handlers
for the hook). Unknown keys are type errors, and at run time they are ignored without a word: `api.headers` never
sends the `Authorization` header (there is no headers option; the supported way is `api.fetch`), `onMessage` is
never called (the handlers are `onReady`, `onError`, `onResponseStart`, `onResponseEnd`, `onThreadChange`, `onLog`,
`onEffect`, …), `api.clientToken` does not exist (hosted mode uses `getClientSecret`). `CustomApiConfig` requires
`domainKey`: any placeholder works on localhost, but production verifies it against your domain allow-list.
An empty `domainKey` is accepted (valid locally).

The known keys are read from the project's installed `@openai/chatkit` types when `node_modules` is there, else from
the bundled description of @openai/chatkit 1.9.0 (what @openai/chatkit-react 1.6.1 pins). `api.headers` has a direct
equivalent and is rewritten to an `api.fetch` that merges the headers; the other findings are reports.

## Wrong
```tsx
useChatKit({
  api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev", headers: { Authorization: `Bearer ${token}` } },
  onMessage: (message) => console.log(message),
});
```

## Right
```tsx
useChatKit({
  api: {
    url: "/chatkit",
    domainKey: "domain_pk_localhost_dev",
    fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set("Authorization", `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    },
  },
  onResponseEnd: () => console.log("response done"),
});
```
"""

from __future__ import annotations

import difflib
from functools import partial
from pathlib import Path

from chatkit_fix.analysis.frontend import (
    at_line_start,
    check_frontend,
    find_all,
    first_line_span,
    indent_unit,
    is_typescript,
    key_literal,
    line_indent,
    quote_of,
    span,
    string_value,
    unwrap,
)
from chatkit_fix.codemods._cases import vite_app
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK106",
    slug="invalid-api-options",
    safety=Safety.SAFE,
    summary="ChatKit options the @openai/chatkit types reject (api.headers, api.clientToken, no domainKey, onMessage)",
    url="https://openai.github.io/chatkit-js/api/openai/chatkit/type-aliases/chatkitoptions",
    languages=("tsx", "html"),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)

# @openai/chatkit 1.9.0 (pinned by @openai/chatkit-react 1.6.1), used when the project has no node_modules
BUNDLED_OPTIONS = ("api", "locale", "theme", "frameTitle", "initialThread", "onClientTool", "header", "history",
                   "startScreen", "threadItemActions", "composer", "disclaimer", "entities", "commands", "widgets",
                   "thread")
BUNDLED_EVENTS = ("chatkit.ready", "chatkit.error", "chatkit.effect", "chatkit.deeplink", "chatkit.response.start",
                  "chatkit.response.end", "chatkit.history.open", "chatkit.history.close", "chatkit.thread.change",
                  "chatkit.thread.load.start", "chatkit.thread.load.end", "chatkit.tool.change", "chatkit.log")
BUNDLED_CUSTOM_API = ("url", "fetch", "domainKey", "uploadStrategy")
BUNDLED_HOSTED_API = ("getClientSecret",)


def handler_name(event: str) -> str:
    """`chatkit.thread.load.start` -> `onThreadLoadStart`, as chatkit-react's `ToEventHandlerKey` computes it."""
    parts = event.split(".")[1:]
    return "on" + "".join(part[:1].upper() + part[1:] for part in parts)


class Schema:
    def __init__(self, options, events, custom_api, hosted_api, source: str):
        self.options = set(options)
        self.handlers = {handler_name(e) for e in events}
        self.api = set(custom_api) | set(hosted_api)
        self.source = source


_SCHEMAS: dict[Path, Schema] = {}


def schema_for(model, path: Path) -> Schema:
    """The option names from the nearest installed `@openai/chatkit/types/index.d.ts`, else the bundled ones."""
    for folder in path.parents:
        types = folder / "node_modules" / "@openai" / "chatkit" / "types" / "index.d.ts"
        if types in _SCHEMAS:
            return _SCHEMAS[types]
        if types.is_file():
            schema = _read_types(types)
            if schema is not None:
                _SCHEMAS[types] = schema
                return schema
        if folder == model.project.root:
            break
    return Schema(BUNDLED_OPTIONS, BUNDLED_EVENTS, BUNDLED_CUSTOM_API, BUNDLED_HOSTED_API, "bundled @openai/chatkit 1.9.0")


def _read_types(types: Path) -> Schema | None:
    from ast_grep_py import SgRoot

    try:
        root = SgRoot(types.read_text(encoding="utf-8"), "typescript").root()
    except (OSError, UnicodeDecodeError):
        return None
    found: dict[str, list[str]] = {}
    for alias in find_all(root, "type_alias_declaration"):
        name = alias.field("name")
        value = alias.field("value")
        if name is None or value is None or value.kind() != "object_type":
            continue
        if name.text() in ("ChatKitOptions", "CustomApiConfig", "HostedApiConfig", "ChatKitEvents"):
            keys = []
            for member in value.named_children():
                if member.kind() == "property_signature" and member.field("name") is not None:
                    key = member.field("name")
                    keys.append(string_value(key) if key.kind() == "string" else key.text())
            found[name.text()] = [k for k in keys if k]
    if "ChatKitOptions" not in found:
        return None
    return Schema(found["ChatKitOptions"], found.get("ChatKitEvents", BUNDLED_EVENTS),
                  found.get("CustomApiConfig", BUNDLED_CUSTOM_API), found.get("HostedApiConfig", BUNDLED_HOSTED_API),
                  str(types))


def _suggest(key: str, known) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


@check_frontend(RULE)
def check(pctx, model):
    seen = set()
    for usage in model.usages:
        schema = schema_for(model, usage.path)
        allowed = schema.options | (schema.handlers if usage.kind == "hook" else set())
        options = usage.options
        for key, prop in options.props.items():
            if key in allowed or (prop.path, span(prop.node)) in seen:
                continue
            seen.add((prop.path, span(prop.node)))
            ctx = pctx.parsed(prop.path)
            what = "event handler" if key.startswith("on") and key[2:3].isupper() else "option"
            hint = f"remove it{_suggest(key, allowed)}"
            if usage.kind == "setOptions" and key in schema.handlers:
                hint = f"listen with el.addEventListener(\"chatkit.{key[2:3].lower()}{key[3:]}\", …) instead"
            yield ctx.finding(first_line_span(ctx.text, prop.node),
                              f"ChatKit has no `{key}` {what}: the types reject it and it is ignored at run time", hint=hint)
        api = usage.api
        if api is None:
            continue
        hosted = api.get("getClientSecret") is not None
        for key, prop in api.props.items():
            if key in schema.api or (prop.path, span(prop.node)) in seen:
                continue
            seen.add((prop.path, span(prop.node)))
            ctx = pctx.parsed(prop.path)
            if key == "headers":
                yield ctx.finding(first_line_span(ctx.text, prop.node),
                                  "api.headers does not exist: ChatKit never sends these headers (use api.fetch)",
                                  fix=partial(_headers_fix, ctx, model, api, prop), hint="send headers from api.fetch, merged into new Headers(init?.headers)")
            elif key == "clientToken":
                yield ctx.finding(first_line_span(ctx.text, prop.node),
                                  "api.clientToken does not exist: hosted mode uses getClientSecret, a custom back end "
                                  "authenticates through api.fetch",
                                  hint="use api.getClientSecret (hosted) or api.fetch (custom back end)")
            else:
                yield ctx.finding(first_line_span(ctx.text, prop.node),
                                  f"ChatKit has no `api.{key}` option: the types reject it and it is ignored at run time",
                                  hint=f"remove it{_suggest(key, schema.api)}")
        url = api.get("url")
        if url is not None and not hosted and not api.opaque and api.get("domainKey") is None and api.node is not None \
                and (api.path, span(api.node)) not in seen:
            seen.add((api.path, span(api.node)))
            ctx = pctx.parsed(api.path)
            yield ctx.finding(first_line_span(ctx.text, api.node),
                              "api.url without api.domainKey: CustomApiConfig requires it (any placeholder works on "
                              "localhost; production verifies it against your domain allow-list)",
                              hint='add domainKey: "domain_pk_localhost_dev" for local use, your registered key in production')


def _headers_fix(ctx, model, api, prop):
    """`headers: {...}` -> `fetch: (input, init) => { const headers = new Headers(init?.headers); ... }`."""
    if api.get("fetch") is not None or prop.kind != "pair":
        return None
    text = ctx.text
    value = unwrap(prop.value)
    typed = is_typescript(prop.path)
    quote = quote_of(text)
    params = "(input: RequestInfo | URL, init?: RequestInit)" if typed else "(input, init)"
    name = "merged" if _mentions(value, "headers") else "headers"
    lines = [f"const {name} = new Headers(init?.headers);"]
    if value is not None and value.kind() == "object":
        for member in value.named_children():
            if member.kind() == "comment":
                continue
            if member.kind() != "pair":
                return None
            key_text = key_literal(member, quote)
            if key_text is None:
                return None
            lines.append(f"{name}.set({key_text}, {member.field('value').text()});")
    elif value is not None:
        lines.append(f"new Headers({value.text()}).forEach((value, key) => {name}.set(key, value));")
    else:
        return None
    lines.append(f"return fetch(input, {{ ...init, headers{'' if name == 'headers' else ': ' + name} }});")
    start, end = span(prop.node)
    if at_line_start(text, start) and "\n" in text[span(api.node)[0]:span(api.node)[1]]:
        indent = line_indent(text, start)
        inner = indent + indent_unit(text)
        body = "".join(f"{inner}{line}\n" for line in lines)
        replacement = f"fetch: {params} => {{\n{body}{indent}}}"
    else:
        replacement = f"fetch: {params} => {{ {' '.join(lines)} }}"
    return ctx.replace((start, end), replacement)


def _mentions(node, name: str) -> bool:
    return node is not None and any(n.text() == name for n in find_all(node, "identifier"))


CHAT = '''import { ChatKit, useChatKit } from "@openai/chatkit-react";

export function Chat({ token }: { token: string | null }) {
  const chatkit = useChatKit({
@OPTIONS@
  });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
'''


def _chat(options: str) -> str:
    return CHAT.replace("@OPTIONS@", options.rstrip("\n"))


def _vite(chat: str, **extra: str) -> dict[str, str]:
    return vite_app("Chat", chat, named=True, props="token={null}", **extra)


HEADERS_BEFORE = '''    api: {
      url: "/chatkit",
      domainKey: "domain_pk_localhost_dev",
      headers: { Authorization: `Bearer ${token ?? ""}`, "X-Tenant": "acme" },
    },'''
HEADERS_AFTER = '''    api: {
      url: "/chatkit",
      domainKey: "domain_pk_localhost_dev",
      fetch: (input: RequestInfo | URL, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        headers.set("Authorization", `Bearer ${token ?? ""}`);
        headers.set("X-Tenant", "acme");
        return fetch(input, { ...init, headers });
      },
    },'''
TYPED_BEFORE = '''import { ChatKit, useChatKit, type UseChatKitOptions } from "@openai/chatkit-react";

const authHeaders: Record<string, string> = { "X-Client": "docs" };

const options: UseChatKitOptions = {
  api: { url: "/api/chatkit", domainKey: "", headers: authHeaders },
  theme: "dark",
};

export function Chat({ token }: { token: string | null }) {
  const chatkit = useChatKit(options);
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" data-token={token ?? ""} />;
}
'''
TYPED_AFTER = TYPED_BEFORE.replace(
    "headers: authHeaders }",
    "fetch: (input: RequestInfo | URL, init?: RequestInit) => { const headers = new Headers(init?.headers); "
    "new Headers(authHeaders).forEach((value, key) => headers.set(key, value)); "
    "return fetch(input, { ...init, headers }); } }")
RAW = '''import { useEffect, useRef } from "react";
import type { OpenAIChatKit } from "@openai/chatkit";

export function Chat({ token }: { token: string | null }) {
  const ref = useRef<OpenAIChatKit>(null);
  useEffect(() => {
    ref.current?.setOptions({
      api: { url: "/chatkit", domainKey: token ?? "" },
      onReady: () => console.log("ready"),
    });
  }, [token]);
  return <openai-chatkit ref={ref} className="block h-[600px]" />;
}
'''
NATIVE_HOST_PAGE = """<!doctype html>
<html>
  <head>
    <script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"></script>
  </head>
  <body>
    <openai-chatkit id="chat"></openai-chatkit>
    <script type="module">
      function apiFrom(config) {
        if (config.url) {
          return { url: config.url, domainKey: config.domainKey ?? "" };
        }
        if (config.token) {
          return { clientToken: config.token };
        }
        return undefined;
      }
      const config = window.CHAT_CONFIG ?? {};
      document.querySelector("#chat").setOptions({ api: apiFrom(config), locale: "en-US" });
    </script>
  </body>
</html>
"""

RULE.cases(
    valid=[
        Valid(_vite(_chat('''    api: { url: "/chatkit", domainKey: "" },
    theme: { colorScheme: "dark", radius: "round" },
    onReady: () => console.log("ready"),
    onThreadLoadStart: ({ threadId }) => console.log(threadId),
    onHistoryOpen: () => {},
    onClientTool: async () => ({ ok: true }),''')), name="known options and handlers, empty domainKey"),
        Valid(_vite(_chat('''    api: { getClientSecret: async () => token ?? "" },''')), name="hosted mode needs no domainKey"),
        Valid(_vite(_chat('''    api: { url: "/chatkit", domainKey: "k" },
    composer: { placeholder: "Ask", tools: [] },''')), name="nested keys are not checked here"),
    ],
    invalid=[
        Invalid(_vite(_chat(HEADERS_BEFORE)), {"src/Chat.tsx": _chat(HEADERS_AFTER)}, findings=[("src/Chat.tsx", 8, 7, "api.headers does not exist")], name="api.headers"),
        Invalid(_vite(TYPED_BEFORE), {"src/Chat.tsx": TYPED_AFTER}, findings=[("src/Chat.tsx", 6, 46, "api.headers does not exist")],
                name="api.headers from a variable in a typed const"),
        Invalid(_vite(_chat('''    api: { url: "/chatkit", domainKey: "k" },
    onMessage: (message: unknown) => console.log(message),''')), None, findings=[("src/Chat.tsx", 6, 5, "ChatKit has no `onMessage` event handler")], name="onMessage"),
        Invalid(_vite(_chat('''    api: { url: "/chatkit" },''')), None, findings=[("src/Chat.tsx", 5, 10, "api.url without api.domainKey")], name="missing domainKey"),
        Invalid(_vite(_chat('''    api: { url: "/chatkit", domainKey: "k", clientToken: token ?? "" },''')), None, findings=[("src/Chat.tsx", 5, 45, "api.clientToken does not exist")],
                name="api.clientToken"),
        Invalid(_vite(RAW), None, findings=[("src/Chat.tsx", 9, 7, "ChatKit has no `onReady` event handler")], name="setOptions takes no handlers"),
        Invalid({"index.html": NATIVE_HOST_PAGE}, None, findings=[("index.html", 14, 20, "api.clientToken does not exist")],
                name="static page: api options from a helper with several returns, one of them a clientToken"),
    ],
)
