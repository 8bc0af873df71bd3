"""`<ChatKit>` has no height: none from its className or style, and no sized parent.

## Why
`<openai-chatkit>` renders its UI in an iframe that fills the element. The element has no intrinsic height, so
without one from its own class or style, or a parent with a definite height it can fill, it collapses to a thin
strip or to nothing: ChatKit is "there" (the requests go out) but nothing is visible. The samples size it
explicitly: `className="h-[600px] w-full"`, or `h-full w-full` inside a sized, `relative` parent.

The rule reads Tailwind height utilities (`h-*`, `min-h-*`, `size-*`, `flex-1`, `grow`, `inset-0`, …) and style
heights (`height`, `minHeight`, `flex`) on the element and on its nearest JSX parent (or, for a component that
returns `<ChatKit>` directly, on the parents where the component is used). A class it does not know (a CSS module,
a custom class) counts as sized: only CSS could tell. The fix adds `className="h-[600px] w-full"` in a Tailwind
project (or `h-[600px]` to an all-Tailwind class list), else a style height.

## Wrong
```tsx
<div className="mx-auto max-w-3xl">
  <ChatKit control={chatkit.control} />
</div>
```

## Right
```tsx
<div className="mx-auto max-w-3xl">
  <ChatKit control={chatkit.control} className="h-[600px] w-full" />
</div>
```
"""

from __future__ import annotations

from chatkit_fix.analysis.frontend import (
    append_member,
    at_line_start,
    attribute_value,
    check_frontend,
    find_all,
    has_spread_attributes,
    jsx_ancestors,
    jsx_attributes,
    jsx_name,
    line_indent,
    opening_of,
    property_key,
    span,
    string_content_span,
    string_value,
    unwrap,
)
from chatkit_fix.codemods._cases import VITE_DEV_PACKAGE, vite_app, vite_main
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK107",
    slug="no-explicit-size",
    safety=Safety.SAFE,
    summary="<ChatKit> with no height from its className/style and no sized parent (it renders collapsed)",
    url="https://github.com/openai/openai-chatkit-advanced-samples/blob/main/examples/customer-support/frontend/src/components/ChatKitPanel.tsx",
    languages=("tsx",),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)

SIZED, UNSIZED, UNKNOWN = "sized", "unsized", "unknown"
TRANSPARENT = {"StrictMode", "Fragment", "Suspense", "Profiler"}  # render their children without a box
HEIGHT_STYLES = {"height", "minHeight", "blockSize", "minBlockSize", "flex", "flexGrow", "inset", "flexBasis"}
HEIGHT_EXACT = {"flex-1", "flex-auto", "grow", "flex-grow", "inset-0", "h-full", "h-screen", "size-full"}
HEIGHT_PREFIXES = ("h-", "min-h-", "size-", "grow-", "basis-", "inset-y-", "flex-[")
TAILWIND_PREFIXES = (
    "w-", "h-", "min-", "max-", "p-", "px-", "py-", "pt-", "pb-", "pl-", "pr-", "ps-", "pe-", "m-", "mx-", "my-", "mt-",
    "mb-", "ml-", "mr-", "flex", "grid", "block", "inline", "hidden", "rounded", "border", "bg-", "text-", "shadow",
    "overflow", "relative", "absolute", "fixed", "sticky", "static", "z-", "opacity-", "pointer-events", "transition",
    "duration-", "ease-", "delay-", "gap-", "space-", "items-", "justify-", "self-", "content-", "place-", "top-",
    "left-", "right-", "bottom-", "inset", "order-", "col-", "row-", "font-", "leading-", "tracking-", "ring",
    "outline", "cursor-", "select-", "visible", "invisible", "backdrop-", "blur", "transform", "translate-", "scale-",
    "rotate-", "origin-", "animate-", "aspect-", "object-", "isolate", "container", "shrink", "grow", "basis-",
    "antialiased", "sr-only", "divide-", "whitespace-", "break-", "truncate", "list-", "align-", "float-", "clear-",
    "box-", "table", "contents", "flow-root", "from-", "via-", "to-", "fill-", "stroke-", "size-", "mx-auto", "drop-",
    "filter", "will-change", "touch-", "scroll-", "snap-", "overscroll-", "resize", "appearance-", "underline",
)


def _token(token: str) -> str:
    token = token.split(":")[-1].lstrip("!")
    return token.removeprefix("-")


def is_tailwind(token: str) -> bool:
    bare = _token(token)
    return bool(bare) and bare.startswith(TAILWIND_PREFIXES)


def gives_height(token: str) -> bool:
    bare = _token(token)
    return bare in HEIGHT_EXACT or (bare.startswith(HEIGHT_PREFIXES) and bare not in ("min-h-0", "h-0", "h-auto", "h-fit"))


def class_tokens(node) -> tuple[list[str], bool]:
    """The class tokens a className expression can produce, and whether some part is unknown (a variable, a CSS
    module). Conditions (`open ? … : …`, `open && …`, clsx object values) are not classes and are skipped."""
    node = unwrap(node)
    if node is None:
        return [], False
    kind = node.kind()
    literal = string_value(node)
    if literal is not None:
        return literal.split(), False
    tokens: list[str] = []
    unknown = False

    def add(child):
        nonlocal unknown
        found, hidden = class_tokens(child)
        tokens.extend(found)
        unknown = unknown or hidden

    if kind == "template_string":
        for child in node.children():
            if child.kind() == "string_fragment":
                tokens.extend(child.text().split())
            elif child.kind() == "template_substitution":
                inner = [c for c in child.named_children() if c.kind() != "comment"]
                if inner:
                    add(inner[0])
    elif kind == "ternary_expression":
        add(node.field("consequence"))
        add(node.field("alternative"))
    elif kind == "binary_expression":
        operator = node.field("operator").text()
        if operator == "&&":
            add(node.field("right"))
        elif operator in ("||", "??", "+"):
            add(node.field("left"))
            add(node.field("right"))
        else:
            unknown = True
    elif kind == "call_expression":
        callee = node.field("function")
        name = callee.text() if callee is not None else ""
        if name.rsplit(".", 1)[-1] in ("clsx", "cn", "classNames", "classnames", "cx", "twMerge", "twJoin"):
            for argument in node.field("arguments").named_children():
                argument = unwrap(argument)
                if argument.kind() == "object":
                    for member in argument.named_children():
                        key = property_key(member) if member.kind() == "pair" else None
                        if key is None:
                            unknown = True
                        else:
                            tokens.extend(key.split())
                else:
                    add(argument)
        elif callee is not None and callee.kind() == "member_expression" and callee.field("property").text() == "join":
            add(callee.field("object"))
        else:
            unknown = True
    elif kind == "array":
        for element in node.named_children():
            add(element)
    elif kind in ("null", "undefined", "false", "true"):
        pass
    else:
        unknown = True
    return tokens, unknown


def class_sizing(value) -> str:
    """SIZED when some class gives a height, UNKNOWN for a variable or a non-Tailwind class, else UNSIZED."""
    if value is None:
        return UNSIZED
    tokens, unknown = class_tokens(value)
    if any(gives_height(t) for t in tokens):
        return SIZED
    if unknown or not all(is_tailwind(t) for t in tokens):
        return UNKNOWN
    return UNSIZED


def style_sizing(value) -> str:
    value = unwrap(value)
    if value is None or value.kind() != "object":
        return UNKNOWN
    keys = set()
    for member in value.named_children():
        if member.kind() == "spread_element":
            return UNKNOWN
        keys.add(property_key(member))
    return SIZED if keys & HEIGHT_STYLES else UNSIZED


def sizing(element) -> str:
    if has_spread_attributes(element):
        return UNKNOWN
    attributes = jsx_attributes(element)
    verdicts = []
    for name in ("className", "class"):
        if name in attributes:
            verdicts.append(class_sizing(attribute_value(attributes[name])))
    if "style" in attributes:
        verdicts.append(style_sizing(attribute_value(attributes["style"])))
    if SIZED in verdicts:
        return SIZED
    if UNKNOWN in verdicts:
        return UNKNOWN
    return UNSIZED


def parent_sizing(element) -> str | None:
    """The sizing of the nearest DOM parent in the same component: fragments are skipped, a component parent
    (`<Card>`, `<StrictMode>`) is UNKNOWN; None when the element is the component's root."""
    for kind, node in jsx_ancestors(element):
        if kind != "element":
            continue
        name = jsx_name(node)
        if not name or name.rsplit(".", 1)[-1] in TRANSPARENT or name.endswith("Provider"):
            continue
        if name[:1].isupper() or "." in name:
            return UNKNOWN
        return sizing(node)
    return None


@check_frontend(RULE)
def check(pctx, model):
    for element in model.jsx_elements:
        node = element.node
        if sizing(node) != UNSIZED:
            continue
        parent = parent_sizing(node)
        if parent is not None:
            if parent != UNSIZED:
                continue
        elif _sized_where_used(model, element):
            continue
        ctx = pctx.parsed(element.path)
        if ctx is None:
            continue
        root = model.root_of(element.path)
        tailwind = root.uses_tailwind or _uses_tailwind_classes(node)
        opening = opening_of(node)
        name = jsx_name(node)
        fix, hint = _fix(ctx, node, tailwind)
        where = "its parent has none either" if parent is not None else "nothing where its component is used sizes it"
        yield ctx.finding((span(opening)[0], span(opening)[0] + 1 + len(name)),
                          f"<{name}> has no height from its className or style and {where}: it renders collapsed",
                          fix=fix, hint=hint)


def _uses_tailwind_classes(element) -> bool:
    attribute = jsx_attributes(element).get("className")
    literal = string_value(unwrap(attribute_value(attribute))) if attribute is not None else None
    return bool(literal) and all(is_tailwind(t) for t in literal.split())


def _sized_where_used(model, element) -> bool:
    """For a component that returns ChatKit at its root: is it used inside a sized (or unknown) parent?"""
    function = None
    for node in (element.node, *[a for a in _ancestors(element.node)]):
        if node.kind() in ("function_declaration",):
            function = node.field("name").text() if node.field("name") else None
            break
        if node.kind() == "variable_declarator":
            function = node.field("name").text() if node.field("name") else None
            break
    if not function:
        return True
    for importer in model.importers(element.path):
        script = model.script(importer)
        if script is None:
            continue
        local_names = {local for ref in script.imports if model.resolve(importer, ref.specifier) == element.path
                       for local, imported in ref.names.items() if imported in (function, "default")}
        for kind in ("jsx_self_closing_element", "jsx_opening_element"):
            for node in find_all(script.root, kind):
                if jsx_name(node) not in local_names:
                    continue
                site = node if kind == "jsx_self_closing_element" else node.parent()
                if sizing(site) != UNSIZED:
                    return True
                parent = parent_sizing(site)
                if parent is None:
                    if not _rendered_at_root(site):
                        return True  # the caller's own parents decide: unknown
                elif parent != UNSIZED:
                    return True
    return False


def _rendered_at_root(site) -> bool:
    """`createRoot(el).render(<Panel />)`: the site fills the unsized #root element."""
    parent = site.parent()
    while parent is not None and (parent.kind() == "parenthesized_expression" or (
            parent.kind() == "jsx_element" and (not jsx_name(parent) or jsx_name(parent).rsplit(".", 1)[-1] in TRANSPARENT))):
        parent = parent.parent()
    if parent is None or parent.kind() != "arguments":
        return False
    call = parent.parent()
    callee = call.field("function") if call is not None else None
    return callee is not None and callee.kind() == "member_expression" and callee.field("property").text() == "render"


def _ancestors(node):
    current = node.parent()
    while current is not None:
        yield current
        current = current.parent()


def _fix(ctx, element, tailwind: bool):
    text = ctx.text
    attributes = jsx_attributes(element)
    class_attribute = attributes.get("className")
    style_attribute = attributes.get("style")
    if class_attribute is not None:
        value = attribute_value(class_attribute)
        literal = string_value(unwrap(value)) if value is not None else None
        if value is not None and literal is not None and value.kind() == "string":
            end = string_content_span(value)[1]
            return ctx.insert(end, " h-[600px]" if literal.strip() else "h-[600px]"), "add h-[600px] to its className"
        return None, 'give it a height (className="h-[600px] w-full" or a style height)'
    if style_attribute is not None:
        value = unwrap(attribute_value(style_attribute))
        if value is not None and value.kind() == "object":
            return append_member(ctx, text, value, "height: 600"), "add height: 600 to its style"
        return None, "give it a style height"
    attribute = 'className="h-[600px] w-full"' if tailwind else 'style={{ height: 600, width: "100%" }}'
    opening = opening_of(element)
    existing = [c for c in opening.named_children() if c.kind() in ("jsx_attribute", "jsx_expression")]
    if existing:
        last = existing[-1]
        if len(existing) > 1 and at_line_start(text, span(last)[0]) and at_line_start(text, span(existing[0])[0]):
            edit = ctx.insert(span(last)[1], "\n" + line_indent(text, span(last)[0]) + attribute)
        else:
            edit = ctx.insert(span(last)[1], " " + attribute)
    else:
        name_node = opening.field("name")
        edit = ctx.insert(span(name_node)[1], " " + attribute)
    return edit, f"add {attribute}"


PACKAGE_TW = '{"dependencies": {"@openai/chatkit-react": "1.6.1", "react": "19.3.1"}, "devDependencies": {"tailwindcss": "4.1.0", "vite": "7.2.4"}}\n'
MAIN = vite_main("Panel")
PANEL = '''import { ChatKit, useChatKit } from "@openai/chatkit-react";

export default function Panel() {
  const chatkit = useChatKit({ api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev" } });
  return (
@JSX@
  );
}
'''


def _panel(jsx: str) -> str:
    return PANEL.replace("@JSX@", jsx.rstrip("\n"))


def _vite(jsx: str, package: str = PACKAGE_TW, **extra: str) -> dict[str, str]:
    return vite_app("Panel", _panel(jsx), package=package, **extra)


RULE.cases(
    valid=[
        Valid(_vite('    <ChatKit control={chatkit.control} className="h-[600px] w-full" />'), name="tailwind height"),
        Valid(_vite('    <div className="relative h-full w-full">\n      <ChatKit control={chatkit.control} className="block h-full w-full" />\n    </div>'),
              name="samples: h-full"),
        Valid({**_vite(""), "src/Panel.tsx": _panel(
            '    <div className="relative pb-8 flex h-[90vh] w-full flex-col">\n      <ChatKit\n'
            '        control={chatkit.control}\n        className={busy ? "pointer-events-none opacity-0" : "block h-full w-full"}\n'
            '      />\n    </div>').replace("export default function Panel() {",
                                     "const busy = false;\n\nexport default function Panel() {")},
              name="starter: sized parent, conditional class"),
        Valid(_vite('    <div className="chat-container">\n      <ChatKit control={chatkit.control} className="chat-interface" />\n    </div>'),
              name="custom CSS class"),
        Valid(_vite('    <div className="mx-auto max-w-3xl" style={{ height: "80vh" }}>\n      <ChatKit control={chatkit.control} />\n    </div>'),
              name="parent sized by style"),
        Valid({**_vite('    <ChatKit control={chatkit.control} />'),
               "src/main.tsx": MAIN.replace("<Panel />", '<div style={{ height: 640 }}><Panel /></div>')},
              name="component used inside a sized parent"),
    ],
    invalid=[
        Invalid(_vite('    <div className="mx-auto max-w-3xl">\n      <ChatKit control={chatkit.control} />\n    </div>'),
                {"src/Panel.tsx": _panel('    <div className="mx-auto max-w-3xl">\n      <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n    </div>')},
                findings=[("src/Panel.tsx", 7, 7, "<ChatKit> has no height from its className or style and its parent has none either")], name="no className, tailwind project"),
        Invalid(_vite('    <section className="p-4">\n      <ChatKit control={chatkit.control} className="w-full rounded-xl" />\n    </section>'),
                {"src/Panel.tsx": _panel('    <section className="p-4">\n      <ChatKit control={chatkit.control} className="w-full rounded-xl h-[600px]" />\n    </section>')},
                findings=[("src/Panel.tsx", 7, 7, "<ChatKit> has no height from its className or style and its parent has none either")], name="tailwind classes without a height"),
        Invalid(_vite('    <div>\n      <ChatKit control={chatkit.control} style={{ width: "100%" }} />\n    </div>', VITE_DEV_PACKAGE),
                {"src/Panel.tsx": _panel('    <div>\n      <ChatKit control={chatkit.control} style={{ width: "100%", height: 600 }} />\n    </div>')},
                findings=[("src/Panel.tsx", 7, 7, "<ChatKit> has no height from its className or style and its parent has none either")], name="style without a height"),
        Invalid({**_vite('    <ChatKit control={chatkit.control} />', VITE_DEV_PACKAGE),
                 "src/main.tsx": MAIN.replace("<Panel />", "<StrictMode>\n    <Panel />\n  </StrictMode>").replace(
                     'import { createRoot', 'import { StrictMode } from "react";\nimport { createRoot')},
                {"src/Panel.tsx": _panel('    <ChatKit control={chatkit.control} style={{ height: 600, width: "100%" }} />')},
                findings=[("src/Panel.tsx", 6, 5, "nothing where its component is used sizes it")], name="component root, rendered in StrictMode at the root, no tailwind"),
        Invalid(_vite('    <main className="flex flex-col">\n      <ChatKit\n        control={chatkit.control}\n'
                      '        onClick={() => chatkit.focusComposer()}\n      />\n    </main>'),
                {"src/Panel.tsx": _panel('    <main className="flex flex-col">\n      <ChatKit\n        control={chatkit.control}\n'
                                         '        onClick={() => chatkit.focusComposer()}\n        className="h-[600px] w-full"\n      />\n    </main>')},
                findings=[("src/Panel.tsx", 7, 7, "<ChatKit> has no height from its className or style and its parent has none either")], name="attributes on their own lines"),
    ],
)
