"""`<ChatKit>` is rendered only after a flag that only `onReady` (or `getClientSecret`) sets: it never mounts.

## Why
`onReady` fires when the `<openai-chatkit>` element has loaded, and `getClientSecret` is called by the element once
it is mounted. Gating the element itself on a flag that only those callbacks set is a deadlock: the element is
not rendered, so it never becomes ready, so the flag never flips and the panel stays empty (a spinner forever),
without an error. Show the loading state over a mounted ChatKit instead, as the official starter does.

The rule follows the `useState` flag in `{ready && <ChatKit …/>}`, `{ready ? <ChatKit …/> : <Spinner/>}` and an
early `if (!ready) return …`, and checks every call of its setter that can make it true: when all of them sit in the
`onReady` handler (inline or a named callback), in `getClientSecret`, or in a `chatkit.ready` listener, it reports.
The fix mounts ChatKit unconditionally and keeps the loading state next to it (`{!ready && <Spinner/>}`); an early
return gets the report only.

## Wrong
```tsx
const [ready, setReady] = useState(false);
const chatkit = useChatKit({ api, onReady: () => setReady(true) });
return <div className="h-[600px]">{ready && <ChatKit control={chatkit.control} className="h-full" />}</div>;
```

## Right
```tsx
const [ready, setReady] = useState(false);
const chatkit = useChatKit({ api, onReady: () => setReady(true) });
return <div className="h-[600px]"><ChatKit control={chatkit.control} className="h-full" /></div>;
```
"""

from __future__ import annotations

from functools import partial

from chatkit_fix.analysis.frontend import (
    FUNCTION_KINDS,
    ancestors,
    at_line_start,
    check_frontend,
    find_all,
    jsx_ancestors,
    line_indent,
    opening_of,
    span,
    string_value,
    unwrap,
)
from chatkit_fix.codemods._cases import NEXT_LAYOUT, NEXT_PACKAGE, next_page
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK109",
    slug="mount-gated-on-ready",
    safety=Safety.SAFE,
    summary="<ChatKit> rendered only after a flag that only onReady/getClientSecret sets: it never mounts",
    url="https://github.com/openai/openai-chatkit-starter-app/blob/main/components/ChatKitPanel.tsx",
    languages=("tsx",),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)

FALSY = ("false", "null", "undefined", "0", '""', "''")


@check_frontend(RULE)
def check(pctx, model):
    for element in model.jsx_elements:
        script = model.script(element.path)
        if script is None:
            continue
        sources = _ready_sources(model, element.path, script)
        gates = list(_gates(element.node))
        for kind, node, flag in gates:
            setter = _state_setter(element.node, flag)
            if setter is None or not _only_set_in(script, setter, sources):
                continue
            ctx = pctx.parsed(element.path)
            opening = opening_of(element.node)
            message = (f"<ChatKit> is rendered only when `{flag}` is true, and only onReady/getClientSecret sets it: "
                       "the element never mounts, so it never becomes ready")
            hint = f"render ChatKit unconditionally and show the loading state while !{flag}"
            start = span(opening)[0]
            yield ctx.finding((start, span(opening)[1]), message, fix=partial(_fix, ctx, element.node, kind, node, flag), hint=hint)
            break


def _gates(element):
    """(kind, node, flag name) for each condition that gates the element: `flag && …`, `flag ? … : …`, early return."""
    for kind, node in jsx_ancestors(element):
        if kind != "conditional":
            continue
        if node.kind() == "binary_expression" and node.field("operator").text() == "&&":
            for operand in _and_operands(node.field("left")):
                operand = unwrap(operand)
                if operand.kind() == "identifier":
                    yield "and", node, operand.text()
        elif node.kind() == "ternary_expression":
            condition = unwrap(node.field("condition"))
            consequence = node.field("consequence")
            if condition.kind() == "identifier" and consequence is not None and _contains(consequence, element):
                yield "ternary", node, condition.text()
    function = _component(element)
    if function is None:
        return
    body = function.field("body")
    if body is None or body.kind() != "statement_block":
        return
    element_start = span(element)[0]
    for statement in body.named_children():
        if span(statement)[0] >= element_start:
            break
        if statement.kind() != "if_statement":
            continue
        condition = unwrap(statement.field("condition"))
        consequence = statement.field("consequence")
        returns = consequence is not None and (consequence.kind() == "return_statement" or any(
            c.kind() == "return_statement" for c in consequence.named_children()))
        if condition is not None and returns and condition.kind() == "unary_expression" and condition.text().startswith("!"):
            argument = unwrap(condition.field("argument"))
            if argument is not None and argument.kind() == "identifier":
                yield "return", statement, argument.text()


def _and_operands(node):
    node = unwrap(node)
    if node.kind() == "binary_expression" and node.field("operator").text() == "&&":
        yield from _and_operands(node.field("left"))
        yield from _and_operands(node.field("right"))
    else:
        yield node


def _contains(outer, inner) -> bool:
    start, end = span(outer)
    inner_start, inner_end = span(inner)
    return start <= inner_start and inner_end <= end


def _component(element):
    for node in ancestors(element):
        if node.kind() in FUNCTION_KINDS:
            parent = node.parent()
            if parent is not None and parent.kind() == "arguments":
                continue
            return node
    return None


def _state_setter(element, flag: str) -> str | None:
    """`setReady` for `const [ready, setReady] = useState(...)` in the element's component."""
    function = _component(element)
    scope = function if function is not None else element.get_root()
    for declarator in find_all(scope, "variable_declarator"):
        pattern = declarator.field("name")
        value = unwrap(declarator.field("value"))
        if pattern is None or pattern.kind() != "array_pattern" or value is None or value.kind() != "call_expression":
            continue
        callee = value.field("function").text()
        if callee not in ("useState", "React.useState"):
            continue
        names = [c for c in pattern.named_children()]
        if len(names) == 2 and names[0].text() == flag and names[1].kind() == "identifier":
            return names[1].text()
    return None


def _ready_sources(model, path, script) -> list[tuple[int, int]]:
    """Spans of code that runs only once ChatKit is mounted: onReady handlers, getClientSecret, ready listeners."""
    found: list[tuple[int, int]] = []
    for usage in model.usages:
        if usage.path != path:
            continue
        candidates = [usage.options.get("onReady")]
        if usage.api is not None:
            candidates.append(usage.api.get("getClientSecret"))
        for prop in candidates:
            if prop is None or prop.path != path:
                continue
            resolved = model.function_value(prop.path, prop.value if prop.kind != "method_definition" else prop.node)
            if resolved is not None and resolved[0] == path:
                found.append(span(resolved[1]))
            elif prop.value is not None:
                found.append(span(prop.value))
    for call in find_all(script.root, "call_expression"):
        callee = call.field("function")
        if callee is None or callee.kind() != "member_expression" or callee.field("property").text() != "addEventListener":
            continue
        args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
        if len(args) >= 2 and string_value(args[0]) == "chatkit.ready":
            found.append(span(args[1]))
    return found


def _only_set_in(script, setter: str, sources) -> bool:
    truthy = []
    for call in find_all(script.root, "call_expression"):
        callee = call.field("function")
        if callee is None or callee.kind() != "identifier" or callee.text() != setter:
            continue
        args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
        if args and unwrap(args[0]).text() in FALSY:
            continue
        truthy.append(span(call))
    if not truthy:
        return False
    return all(any(start <= s and e <= end for start, end in sources) for s, e in truthy)


def _fix(ctx, element, kind, node, flag):
    text = ctx.text
    element_text = text[span(element)[0]:span(element)[1]]
    if kind == "and":
        left = node.field("left")
        operands = [o for o in _and_operands(left) if not (unwrap(o).kind() == "identifier" and unwrap(o).text() == flag)]
        if operands:
            return ctx.replace(span(left), " && ".join(o.text() for o in operands))
        container = node.parent()
        if container is not None and container.kind() == "jsx_expression":
            return ctx.replace(span(container), element_text)
        return ctx.replace(span(node), element_text)
    if kind == "ternary":
        alternative = node.field("alternative")
        loading = alternative.text() if alternative is not None else "null"
        container = node.parent()
        if container is not None and container.kind() == "jsx_expression" and container.parent() is not None \
                and container.parent().kind() == "jsx_element":
            start = span(container)[0]
            separator = "\n" + line_indent(text, start) if at_line_start(text, start) else ""
            if loading in ("null", "undefined", "false"):
                return ctx.replace(span(container), element_text)
            return ctx.replace(span(container), f"{element_text}{separator}{{!{flag} && {loading}}}")
        if loading in ("null", "undefined", "false"):
            return ctx.replace(span(node), element_text)
        return ctx.replace(span(node), f"<>{element_text}{{!{flag} && {loading}}}</>")
    return None


CHAT = '''"use client";

import { useState } from "react";
import { ChatKit, useChatKit } from "@openai/chatkit-react";

export default function Chat() {
  const [ready, setReady] = useState(false);
  const [open, setOpen] = useState(true);
  const chatkit = useChatKit({
    api: { url: "/api/chatkit", domainKey: "domain_pk_localhost_dev" },
@HANDLER@
  });
@BEFORE@  return (
    <div className="relative h-[600px]">
      <button type="button" onClick={() => setOpen(!open)}>Toggle</button>
@JSX@
    </div>
  );
}
'''


def _chat(jsx: str, handler: str = "    onReady: () => setReady(true),", before: str = "") -> str:
    return CHAT.replace("@HANDLER@", handler).replace("@BEFORE@", before).replace("@JSX@", jsx.rstrip("\n"))


def _next(chat: str) -> dict[str, str]:
    return {"package.json": NEXT_PACKAGE, "app/layout.tsx": NEXT_LAYOUT,
            "app/page.tsx": next_page("Chat", "../components/Chat"), "components/Chat.tsx": chat}


RULE.cases(
    valid=[
        Valid(_next(_chat('      <ChatKit control={chatkit.control} className="h-full w-full" />\n'
                          '      {!ready && <p className="absolute inset-0">Loading…</p>}')), name="mounted, loading over it"),
        Valid(_next(_chat('      {open && <ChatKit control={chatkit.control} className="h-full w-full" />}')),
              name="gated on a user toggle"),
        Valid(_next(_chat('      {ready && <ChatKit control={chatkit.control} className="h-full w-full" />}',
                          handler="    onReady: () => setReady(true),\n    onError: () => setReady(false),",
                          before="  if (typeof window !== \"undefined\" && !ready) {\n    setTimeout(() => setReady(true), 0);\n  }\n")),
              name="flag also set elsewhere"),
    ],
    invalid=[
        Invalid(_next(_chat('      {ready && <ChatKit control={chatkit.control} className="h-full w-full" />}')),
                {"components/Chat.tsx": _chat('      <ChatKit control={chatkit.control} className="h-full w-full" />')},
                findings=[("components/Chat.tsx", 16, 17, "<ChatKit> is rendered only when `ready` is true,")], name="ready && ChatKit"),
        Invalid(_next(_chat('      {open && ready && <ChatKit control={chatkit.control} className="h-full w-full" />}',
                            handler="    onReady: handleReady,").replace(
            "  const chatkit = useChatKit({", "  const handleReady = useCallback(() => setReady(true), []);\n  const chatkit = useChatKit({").replace(
            'import { useState } from "react";', 'import { useCallback, useState } from "react";')),
                {"components/Chat.tsx": _chat('      {open && <ChatKit control={chatkit.control} className="h-full w-full" />}',
                                              handler="    onReady: handleReady,").replace(
                    "  const chatkit = useChatKit({", "  const handleReady = useCallback(() => setReady(true), []);\n  const chatkit = useChatKit({").replace(
                    'import { useState } from "react";', 'import { useCallback, useState } from "react";')},
                findings=[("components/Chat.tsx", 17, 25, "<ChatKit> is rendered only when `ready` is true,")], name="named onReady callback, kept user toggle"),
        Invalid(_next(_chat('      {ready ? (\n        <ChatKit control={chatkit.control} className="h-full w-full" />\n'
                            '      ) : (\n        <p>Loading…</p>\n      )}')),
                {"components/Chat.tsx": _chat('      <ChatKit control={chatkit.control} className="h-full w-full" />\n'
                                              '      {!ready && (\n        <p>Loading…</p>\n      )}')},
                findings=[("components/Chat.tsx", 17, 9, "<ChatKit> is rendered only when `ready` is true,")], name="ternary with a loading state"),
        Invalid(_next(_chat('      <ChatKit control={chatkit.control} className="h-full w-full" />',
                            before="  if (!ready) {\n    return <p>Loading…</p>;\n  }\n")),
                None, findings=[("components/Chat.tsx", 19, 7, "<ChatKit> is rendered only when `ready` is true,")], name="early return: report only"),
    ],
)
