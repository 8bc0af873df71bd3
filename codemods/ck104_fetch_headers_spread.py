"""A custom `api.fetch` loses or breaks ChatKit's own request headers.

## Why
ChatKit passes its headers to `api.fetch` in `init.headers`, and they may be a `Headers` object. Spreading one
(`{ ...init?.headers, Authorization: … }`) copies nothing (a `Headers` object has no own enumerable properties), so
ChatKit's headers are silently dropped; `headers: { Authorization: … }` replaces them wholesale. Forcing
`Content-Type: application/json` breaks attachment uploads, which ChatKit sends as `multipart/form-data` (the
browser must set the boundary). `Bearer ${token ?? ""}` sends `Authorization: Bearer ` with an empty token, which
the back end rejects as malformed instead of treating the caller as signed out.

OpenAI's custom-backends guide spreads `options.headers` too; that works only while ChatKit happens to pass a plain
object, and the merged form below is correct for both shapes, so the fix is safe either way.

The fix merges: `const headers = new Headers(init?.headers); headers.set("Authorization", …)`, drops a forced
`Content-Type`, and skips the header when there is no token. The rule follows `api.fetch` in its three shapes
(arrow property, method shorthand, named function or factory), through spread config objects, imports, a
component's props and a static page's inline scripts. A `Content-Type` set only under a test that an upload fails
(the body is a string, ChatKit sent JSON) is fine; a test of whether a Content-Type is present is not, since an
upload comes without one.

## Wrong
```tsx
fetch: async (input, init) => {
  const token = localStorage.getItem("token");
  return fetch(input, {
    ...init,
    headers: { ...init?.headers, "Content-Type": "application/json", Authorization: `Bearer ${token}` },
  });
},
```

## Right
```tsx
fetch: async (input, init) => {
  const token = localStorage.getItem("token");
  const headers = new Headers(init?.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, {
    ...init,
    headers,
  });
},
```
"""

from __future__ import annotations

from functools import partial

from chatkit_fix.analysis.frontend import (
    FetchFlow,
    ancestors,
    at_line_start,
    check_frontend,
    declared_in_function,
    fetch_functions,
    find_all,
    first_line_span,
    function_parameters,
    identifiers_in,
    indent_unit,
    is_guarded,
    key_literal,
    line_indent,
    property_key,
    quote_of,
    span,
    statement_of,
    string_value,
    truthy,
    unwrap,
    uses_semicolons,
)
from chatkit_fix.codemods._cases import VITE_HTML, VITE_PACKAGE, vite_app, vite_main
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK104",
    slug="fetch-headers-spread",
    safety=Safety.SAFE,
    summary="custom api.fetch spreads or replaces init.headers, forces Content-Type, or sends an empty Bearer token",
    url="https://openai.github.io/chatkit-js/guides/custom-backends",
    languages=("tsx", "html"),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)

SPREAD = "spreads init.headers, which may be a Headers object that spreads to {}"
REPLACES = "replaces ChatKit's headers instead of merging into them"
DROPS_INIT = "builds a new init without ChatKit's own (method, body and headers are lost)"
CONTENT_TYPE = "forces Content-Type, which breaks multipart attachment uploads"
EMPTY_BEARER = "sends `Bearer ` with an empty token when there is none"
NULL_BEARER = "sends `Bearer null` (or `Bearer undefined`) when there is no token"
LITERAL_KINDS = ("string", "template_string", "number", "true", "false", "object", "array")


@check_frontend(RULE)
def check(pctx, model):
    for path, function in fetch_functions(model):
        ctx = pctx.parsed(path)
        script = model.script(path)
        if ctx is None or script is None:
            continue
        yield from FetchCheck(ctx, script, function).findings()


def _is_fetch_call(call) -> bool:
    callee = call.field("function")
    return callee is not None and callee.text() in ("fetch", "window.fetch", "globalThis.fetch", "self.fetch")


def _root_identifier(node):
    node = unwrap(node)
    while node is not None and node.kind() == "member_expression":
        node = unwrap(node.field("object"))
    return node.text() if node is not None and node.kind() == "identifier" else None


class FetchCheck:
    def __init__(self, ctx, script, function):
        self.ctx = ctx
        self.script = script
        self.text = script.text
        self.function = function
        params = function_parameters(function)
        self.init = params[1] if len(params) > 1 and params[1] else None
        self.quote = quote_of(self.text)
        self.semi = ";" if uses_semicolons(self.text, script.root) else ""

    # ---- recognisers --------------------------------------------------------------------------------------------

    def is_init_headers(self, node) -> bool:
        """`init.headers`, `init?.headers`, `init!.headers`, `(init?.headers ?? {})`."""
        node = unwrap(node)
        if node is None or self.init is None:
            return False
        if node.kind() == "binary_expression":
            return self.is_init_headers(node.field("left"))
        if node.kind() != "member_expression":
            return False
        prop = node.field("property")
        return prop is not None and prop.text() == "headers" and _root_identifier(node.field("object")) == self.init

    def is_init(self, node) -> bool:
        node = unwrap(node)
        return node is not None and node.kind() == "identifier" and node.text() == self.init

    def local_value(self, name: str):
        """(declarator, value) of a variable declared inside the fetch function."""
        for declarator in find_all(self.function, "variable_declarator"):
            ident = declarator.field("name")
            if ident is not None and ident.kind() == "identifier" and ident.text() == name:
                return declarator, declarator.field("value")
        return None, None

    def empty_bearer(self, value):
        """(guard, fixed value text, problem) when a header value may be `Bearer ` with nothing (or `null`) after
        it, else None."""
        value = unwrap(value)
        if value is None or value.kind() != "template_string" or not value.text()[1:].lstrip().startswith("Bearer"):
            return None
        for substitution in [c for c in value.children() if c.kind() == "template_substitution"]:
            inner = [c for c in substitution.named_children() if c.kind() != "comment"]
            if not inner:
                continue
            expression = unwrap(inner[0])
            if expression.kind() == "binary_expression" and expression.field("operator").text() in ("??", "||") \
                    and string_value(unwrap(expression.field("right"))) == "":
                left = expression.field("left")
                start, end = span(value)
                inner_start, inner_end = span(inner[0])
                fixed = self.text[start:inner_start] + left.text() + self.text[inner_end:end]
                return left.text(), fixed, EMPTY_BEARER
            if expression.kind() == "identifier":
                _, initial = self.local_value(expression.text())
                if initial is not None and _may_be_missing(initial) and not is_guarded(self.function, expression.text()):
                    return expression.text(), value.text(), NULL_BEARER
        return None

    # ---- header objects ------------------------------------------------------------------------------------------

    def findings(self):
        problems: dict = {}
        contexts: dict = {}

        def note(obj, problem):
            entry = problems.setdefault(span(obj), (obj, []))
            if problem not in entry[1]:
                entry[1].append(problem)

        for spread in find_all(self.function, "spread_element"):
            inner = [c for c in spread.named_children() if c.kind() != "comment"]
            if inner and self.is_init_headers(inner[0]) and spread.parent().kind() == "object":
                note(spread.parent(), SPREAD)
        for call in find_all(self.function, "call_expression"):
            if not _is_fetch_call(call):
                continue
            args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
            if len(args) < 2:
                continue
            init_object = unwrap(args[1])
            if init_object is None or init_object.kind() != "object":
                continue
            spreads_init = any(m.kind() == "spread_element" and m.named_children() and self.is_init(m.named_children()[0])
                               for m in init_object.named_children())
            member = next((m for m in init_object.named_children() if property_key(m) == "headers"), None)
            if member is None:
                continue
            value = member.field("value") if member.kind() == "pair" else member
            header_object, declarator = self.header_object(value)
            if header_object is None:
                continue
            contexts[span(header_object)] = (call, init_object, member, declarator)
            if not spreads_init:
                note(header_object, DROPS_INIT)
            if not any(m.kind() == "spread_element" and m.named_children() and self.is_init_headers(m.named_children()[0])
                       for m in header_object.named_children()):
                note(header_object, REPLACES)
        for key in list(problems) + [k for k in contexts if k not in problems]:
            obj = problems[key][0] if key in problems else None
            if obj is None:
                call, init_object, member, declarator = contexts[key]
                value = member.field("value") if member.kind() == "pair" else member
                obj, _ = self.header_object(value)
            for pair in obj.named_children():
                name = property_key(pair) if pair.kind() == "pair" else None
                if name and name.lower() == "content-type":
                    note(obj, CONTENT_TYPE)
                empty = self.empty_bearer(pair.field("value")) if name and name.lower() == "authorization" else None
                if empty is not None:
                    note(obj, empty[2])
        for key, (obj, found) in sorted(problems.items()):
            yield self.header_finding(obj, found, contexts.get(key))
        yield from self.set_calls()

    def header_object(self, value):
        """The object literal a `headers` value stands for, and the declarator it comes from (if a local)."""
        value = unwrap(value)
        if value is None:
            return None, None
        if value.kind() == "object":
            return value, None
        if value.kind() in ("identifier", "shorthand_property_identifier"):
            declarator, initial = self.local_value(value.text())
            initial = unwrap(initial)
            if initial is not None and initial.kind() == "object":
                return initial, declarator
        return None, None

    def entries(self, obj):
        """(key text, value text, guard) for each header kept; None when the object cannot be rewritten."""
        found = []
        for member in obj.named_children():
            kind = member.kind()
            if kind == "comment":
                continue
            if kind == "spread_element":
                inner = [c for c in member.named_children() if c.kind() != "comment"]
                if inner and self.is_init_headers(inner[0]):
                    continue
                return None
            if kind != "pair":
                return None
            key_text = key_literal(member, self.quote)
            if key_text is None:
                return None
            name = property_key(member) or ""
            if name.lower() == "content-type":
                continue
            value = member.field("value")
            guard, value_text = self.guarded_value(value) if name.lower() == "authorization" else (None, value.text())
            found.append((key_text, value_text, guard))
        return found

    def guarded_value(self, value):
        node = unwrap(value)
        if node is not None and node.kind() == "ternary_expression":
            alternative = unwrap(node.field("alternative"))
            if alternative is not None and (string_value(alternative) == "" or alternative.text() in ("undefined", "null")):
                return node.field("condition").text(), node.field("consequence").text()
        empty = self.empty_bearer(value)
        if empty is not None:
            return empty[:2]
        return None, value.text()

    def statements(self, name: str, entries) -> list[str]:
        lines = [f"const {name} = new Headers({self.init}?.headers){self.semi}"]
        for key_text, value_text, guard in entries:
            call = f"{name}.set({key_text}, {value_text}){self.semi}"
            lines.append(f"if ({guard}) {call}" if guard else call)
        return lines

    def header_finding(self, obj, problems, context):
        anchor = first_line_span(self.text, obj)
        message = "custom api.fetch " + "; ".join(problems)
        init = self.init or "init"
        if DROPS_INIT in problems:
            hint = f"spread ChatKit's init: fetch(input, {{ ...{init}, headers }})"
        elif problems == [CONTENT_TYPE]:
            hint = "drop the Content-Type header: ChatKit sets it (JSON, or multipart for uploads)"
        else:
            hint = f"merge into ChatKit's headers: const headers = new Headers({init}?.headers); headers.set(…)"
        fix = partial(self.header_fix, obj, context) if DROPS_INIT not in problems and self.init else None
        return self.ctx.finding(anchor, message, fix=fix, hint=hint)

    def header_fix(self, obj, context):
        entries = self.entries(obj)
        if entries is None:
            return None
        text = self.text
        # context 1: `const headers = {...}` used only as the headers of fetch calls
        declarator = context[3] if context else None
        if declarator is None and obj.parent() is not None and obj.parent().kind() == "variable_declarator":
            declarator = obj.parent()
        if declarator is not None:
            name = declarator.field("name").text()
            statement = declarator.parent()
            if statement.kind() not in ("lexical_declaration", "variable_declaration") or \
                    len([c for c in statement.named_children() if c.kind() == "variable_declarator"]) != 1 or \
                    not at_line_start(text, span(statement)[0]):
                return None
            for reference in identifiers_in(self.function, name):
                if reference == declarator.field("name"):
                    continue
                parent = reference.parent()
                if reference.kind() == "shorthand_property_identifier" and parent.kind() == "object":
                    continue
                if parent.kind() == "pair" and property_key(parent) == "headers":
                    continue
                return None
            indent = line_indent(text, span(statement)[0])
            lines = self.statements(name, entries)
            keyword = statement.child(0).text() if statement.child(0) is not None else "const"
            lines[0] = lines[0].replace("const ", keyword + " ", 1) if keyword in ("let", "var") else lines[0]
            return self.ctx.replace(span(statement), ("\n" + indent).join(lines))
        if context is None:
            return None
        call, _, member, _ = context
        if not entries:
            return self.ctx.replace(span(obj), f"new Headers({self.init}?.headers)")
        name = "headers" if "headers" not in declared_in_function(self.function) else "mergedHeaders"
        member_text = "headers" if name == "headers" else f"headers: {name}"
        lines = self.statements(name, entries)
        body = self.function.field("body")
        statement = statement_of(call)
        if body is not None and body.kind() == "statement_block" and statement is not None and \
                statement.parent() is not None and statement.parent().kind() == "statement_block" and \
                at_line_start(text, span(statement)[0]):
            indent = line_indent(text, span(statement)[0])
            line_start = text.rfind("\n", 0, span(statement)[0]) + 1
            block = "".join(f"{indent}{line}\n" for line in lines)
            return [self.ctx.insert(line_start, block), self.ctx.replace(span(member), member_text)]
        if body is not None and body.kind() != "statement_block":
            base = line_indent(text, span(self.function)[0])
            unit = indent_unit(text)
            body_start, body_end = span(body)
            member_start, member_end = span(member)
            expression = text[body_start:member_start] + member_text + text[member_end:body_end]
            inner = base + unit
            arrow = next((c for c in self.function.children() if c.kind() == "=>"), None)
            start = span(arrow)[1] if arrow is not None else body_start
            block = " {\n" + "".join(f"{inner}{line}\n" for line in lines) + f"{inner}return {expression}{self.semi}\n{base}}}"
            return self.ctx.replace((start, body_end), block)
        return None

    # ---- headers.set(...) statements --------------------------------------------------------------------------

    def forced_on_upload(self, statement) -> bool:
        """Whether a statement setting Content-Type also runs for an attachment upload: no `if` around it whose
        condition is false for one (a test of the body's type, of the JSON content type ChatKit sent). A test of the
        header's mere presence does not help: an upload comes without one."""
        flow = FetchFlow(self.function)
        child = statement
        for node in ancestors(statement):
            if node == self.function:
                return True
            if node.kind() == "if_statement":
                truth = truthy(flow.on_upload(node.field("condition")))
                if node.field("consequence") == child and truth is False:
                    return False
                alternative = node.field("alternative")
                if alternative is not None and alternative == child and truth is True:
                    return False
            child = node
        return True

    def set_calls(self):
        for call in find_all(self.function, "call_expression"):
            callee = call.field("function")
            if callee is None or callee.kind() != "member_expression" or callee.field("property").text() not in ("set", "append"):
                continue
            args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
            if len(args) != 2:
                continue
            header = (string_value(args[0]) or "").lower()
            statement = call.parent()
            if statement is None or statement.kind() != "expression_statement":
                continue
            if header == "content-type":
                if not self.forced_on_upload(statement):
                    continue
                removed = _lone_guarded(statement) or statement
                fix = self.ctx.delete_lines(span(removed)) if at_line_start(self.text, span(removed)[0]) else None
                yield self.ctx.finding(span(removed), f"custom api.fetch {CONTENT_TYPE}", fix=fix,
                                       hint="let ChatKit set Content-Type (JSON, or multipart for uploads)")
            elif header == "authorization":
                empty = self.empty_bearer(args[1])
                if empty is None or (statement.parent() is not None and statement.parent().kind() == "if_statement"):
                    continue
                guard, value_text, problem = empty
                start, end = span(args[1])
                fixed = self.text[span(statement)[0]:start] + value_text + self.text[end:span(statement)[1]]
                yield self.ctx.finding(span(statement), f"custom api.fetch {problem}",
                                       fix=self.ctx.replace(span(statement), f"if ({guard}) {fixed}"),
                                       hint="set Authorization only when there is a token")


def _lone_guarded(statement):
    """The `if` a statement is the only content of (`if (!headers.has(…)) { headers.set(…) }`), to remove as one."""
    parent = statement.parent()
    if parent is not None and parent.kind() == "statement_block":
        if len([c for c in parent.named_children() if c.kind() != "comment"]) != 1:
            return None
        parent = parent.parent()
    if parent is not None and parent.kind() == "if_statement" and parent.field("alternative") is None:
        return parent
    return None


def _may_be_missing(initial) -> bool:
    """Whether a token variable's initial value may be null, undefined or empty: anything but a literal (a call such
    as `await getToken()` or `localStorage.getItem(...)`, an optional chain, a property), unless a non-empty literal
    default follows `??` or `||`."""
    node = unwrap(initial)
    if node is not None and node.kind() == "await_expression":
        inner = [c for c in node.named_children() if c.kind() != "comment"]
        node = unwrap(inner[0]) if inner else None
    if node is None or node.kind() in LITERAL_KINDS:
        return False
    if node.kind() == "binary_expression" and node.field("operator").text() in ("??", "||"):
        default = unwrap(node.field("right"))
        return default is None or default.kind() not in LITERAL_KINDS or string_value(default) == ""
    return True


def _vite(chat: str, **extra: str) -> dict[str, str]:
    return vite_app("Chat", chat, named=True, **extra)


CHAT_TEMPLATE = '''import { ChatKit, useChatKit } from "@openai/chatkit-react";

export function Chat() {
  const { control } = useChatKit({
    api: {
      url: "/api/chatkit",
      domainKey: "local-dev",
@FETCH@
    },
  });
  return <ChatKit control={control} className="h-[600px] w-full" />;
}
'''


def _chat(fetch: str) -> str:
    return CHAT_TEMPLATE.replace("@FETCH@", fetch.rstrip("\n"))


SPREAD_BEFORE = '''      fetch: async (url, options) => {
        const response = await fetch(url, {
          ...options,
          headers: {
            ...options?.headers,
            'Content-Type': 'application/json',
          },
        });
        if (!response.ok) {
          throw new Error(`HTTP ${response.status}`);
        }
        return response;
      },'''
SPREAD_AFTER = '''      fetch: async (url, options) => {
        const response = await fetch(url, {
          ...options,
          headers: new Headers(options?.headers),
        });
        if (!response.ok) {
          throw new Error(`HTTP ${response.status}`);
        }
        return response;
      },'''
METHOD_BEFORE = '''      async fetch(input: RequestInfo | URL, init?: RequestInit) {
        const jwtToken = await getToken();
        if (!jwtToken) {
          throw new Error("Not authenticated");
        }
        const headers = {
          ...init?.headers,
          'Authorization': `Bearer ${jwtToken}`,
        };
        return fetch(input, {
          ...init,
          headers,
        });
      },'''
METHOD_AFTER = '''      async fetch(input: RequestInfo | URL, init?: RequestInit) {
        const jwtToken = await getToken();
        if (!jwtToken) {
          throw new Error("Not authenticated");
        }
        const headers = new Headers(init?.headers);
        headers.set('Authorization', `Bearer ${jwtToken}`);
        return fetch(input, {
          ...init,
          headers,
        });
      },'''
AUTH_LIB = '''export async function getToken(): Promise<string | null> {
  return window.localStorage.getItem("token");
}
'''
NAMED_BEFORE = '''import { getToken } from "./auth";

export async function authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const token = await getToken();
  return fetch(input, {
    ...init,
    headers: { Authorization: `Bearer ${token ?? ""}` },
  });
}
'''
NAMED_AFTER = '''import { getToken } from "./auth";

export async function authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const token = await getToken();
  const headers = new Headers(init?.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, {
    ...init,
    headers,
  });
}
'''
ARROW_BEFORE = '''      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...init?.headers, "X-Client": "web" } }),'''
ARROW_AFTER = '''      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set("X-Client", "web");
        return fetch(input, { ...init, headers });
      },'''
NO_INIT = '''      fetch: (input, init) =>
        fetch(input, { headers: { ...init?.headers, "X-Client": "web" } }),'''
GOOD = '''      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        const token = await getToken();
        if (token) headers.set("Authorization", `Bearer ${token}`);
        return fetch(input, { ...init, headers, credentials: "include" });
      },'''
SET_BEFORE = '''      fetch: async (input, init) => {
        const token = localStorage.getItem("token");
        const headers = new Headers(init?.headers);
        headers.set("Content-Type", "application/json");
        headers.set("Authorization", `Bearer ${token ?? ""}`);
        return fetch(input, { ...init, headers });
      },'''
SET_AFTER = '''      fetch: async (input, init) => {
        const token = localStorage.getItem("token");
        const headers = new Headers(init?.headers);
        if (token) headers.set("Authorization", `Bearer ${token}`);
        return fetch(input, { ...init, headers });
      },'''
JSON_ONLY = '''      fetch: async (input, init = {}) => {
        const headers = new Headers(init.headers ?? {});
        const sent = headers.get("Content-Type") ?? "";
        const isText = typeof init.body === "string";
        if (sent.includes("application/json") || isText || !init.body) {
          headers.set("Content-Type", "application/json");
        }
        return fetch(input, { ...init, headers });
      },'''
STATIC_PAGE = '''<!doctype html>
<html>
  <head>
    <script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"></script>
  </head>
  <body>
    <openai-chatkit id="chat"></openai-chatkit>
    <script>
      function tenantFetch(tenant) {
        return async (input, init = {}) => {
          const headers = new Headers(init.headers || {});
          if (!headers.has("Content-Type")) {
            headers.set("Content-Type", "application/json");
          }
          headers.set("X-Tenant", tenant);
          return fetch(input, Object.assign({}, init, { headers }));
        };
      }
      document.getElementById("chat").setOptions({
        api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev", fetch: tenantFetch("acme") },
      });
    </script>
  </body>
</html>
'''
GET_TOKEN_BEFORE = '''      fetch: async (input, init) => {
        const token = await getToken();
        return fetch(input, {
          ...init,
          headers: { ...init?.headers, Authorization: `Bearer ${token}` },
        });
      },'''
GET_TOKEN_AFTER = '''      fetch: async (input, init) => {
        const token = await getToken();
        const headers = new Headers(init?.headers);
        if (token) headers.set("Authorization", `Bearer ${token}`);
        return fetch(input, {
          ...init,
          headers,
        });
      },'''
SET_GET_TOKEN_BEFORE = '''      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        const token = await getToken();
        headers.set("Authorization", `Bearer ${token}`);
        return fetch(input, { ...init, headers });
      },'''
WITH_GET_TOKEN = ('import { ChatKit', 'import { getToken } from "./auth";\nimport { ChatKit')

RULE.cases(
    valid=[
        Valid(_vite(_chat(GOOD).replace('import { ChatKit', 'import { getToken } from "./auth";\nimport { ChatKit'),
                    **{"src/auth.ts": AUTH_LIB}), name="merged headers"),
        Valid(_vite(_chat("      fetch: (input, init) => fetch(input, { ...init, credentials: \"include\" }),")),
              name="fetch that leaves headers alone"),
        Valid({"package.json": VITE_PACKAGE, "index.html": VITE_HTML, "src/main.tsx": vite_main("Other", named=True),
            "src/Other.tsx": "export function Other() {\n  return null;\n}\n",
            "src/Chat.tsx": _chat(SPREAD_BEFORE)}, name="dead code"),
        Valid(_vite(_chat(JSON_ONLY)), name="Content-Type set only when the body is JSON, never on an upload"),
        Valid(_vite(_chat('''      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        if (init?.body && typeof init.body === "string" && !headers.has("Content-Type")) {
          headers.set("Content-Type", "application/json");
        }
        return fetch(input, { ...init, headers });
      },''')), name="Content-Type only for a string body that came without one"),
    ],
    invalid=[
        Invalid(_vite(_chat(SPREAD_BEFORE)), {"src/Chat.tsx": _chat(SPREAD_AFTER)}, findings=[("src/Chat.tsx", 11, 20, "custom api.fetch spreads init.headers, which may be a Headers object that spreads to {}; forces Content-Type")],
                name="arrow property spreading headers with a forced Content-Type"),
        Invalid(_vite(_chat(METHOD_BEFORE).replace('import { ChatKit', 'import { getToken } from "./auth";\nimport { ChatKit'),
                      **{"src/auth.ts": AUTH_LIB}),
                {"src/Chat.tsx": _chat(METHOD_AFTER).replace('import { ChatKit', 'import { getToken } from "./auth";\nimport { ChatKit')},
                findings=[("src/Chat.tsx", 14, 25, "custom api.fetch spreads init.headers,")], name="method shorthand with a headers const"),
        Invalid(_vite(_chat("      fetch: authFetch,").replace('import { ChatKit', 'import { authFetch } from "./lib/authFetch";\nimport { ChatKit'),
                      **{"src/lib/authFetch.ts": NAMED_BEFORE, "src/lib/auth.ts": AUTH_LIB}),
                {"src/lib/authFetch.ts": NAMED_AFTER}, findings=[("src/lib/authFetch.ts", 7, 14, "custom api.fetch replaces ChatKit's headers instead of merging into them")], name="named function in another module, empty bearer"),
        Invalid(_vite(_chat(ARROW_BEFORE)), {"src/Chat.tsx": _chat(ARROW_AFTER)}, findings=[("src/Chat.tsx", 9, 42, "custom api.fetch spreads init.headers,")],
                name="expression-bodied arrow"),
        Invalid(_vite(_chat(SET_BEFORE)), {"src/Chat.tsx": _chat(SET_AFTER)}, findings=[
                    ("src/Chat.tsx", 11, 9, "custom api.fetch forces Content-Type, which breaks multipart attachment uploads"),
                    ("src/Chat.tsx", 12, 9, "custom api.fetch sends `Bearer ` with an empty token when there is none"),
                ],
                name="headers.set Content-Type and an empty bearer"),
        Invalid(_vite(_chat(NO_INIT)), None, findings=[("src/Chat.tsx", 9, 33, "builds a new init without ChatKit's own (method, body and headers are lost)")],
                name="fetch without ...init: reported, not fixed (the method and body are gone)"),
        Invalid({"index.html": STATIC_PAGE}, {"index.html": STATIC_PAGE.replace(
            '''          if (!headers.has("Content-Type")) {
            headers.set("Content-Type", "application/json");
          }
''', "")}, findings=[("index.html", 12, 11, "custom api.fetch forces Content-Type")],
            name="static page: a factory's fetch sets Content-Type when ChatKit sent none (uploads send none)"),
        Invalid(_vite(_chat(GET_TOKEN_BEFORE).replace(*WITH_GET_TOKEN), **{"src/auth.ts": AUTH_LIB}),
                {"src/Chat.tsx": _chat(GET_TOKEN_AFTER).replace(*WITH_GET_TOKEN)},
                findings=[("src/Chat.tsx", 13, 20, "sends `Bearer null` (or `Bearer undefined`) when there is no token")],
                name="token from await getToken() without a guard: the header is skipped, never `Bearer null`"),
        Invalid(_vite(_chat(SET_GET_TOKEN_BEFORE).replace(*WITH_GET_TOKEN), **{"src/auth.ts": AUTH_LIB}),
                {"src/Chat.tsx": _chat(GOOD.replace(", credentials: \"include\"", "")).replace(*WITH_GET_TOKEN)},
                findings=[("src/Chat.tsx", 12, 9, "custom api.fetch sends `Bearer null` (or `Bearer undefined`) when there is no token")],
                name="headers.set with a token from await getToken() and no guard"),
    ],
)
