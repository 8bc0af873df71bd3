"""`<ChatKit>` is mounted inside a container hidden with `display: none` (Tailwind `hidden`, the `hidden` attribute).

## Why
This rule rests on field reports (the seed document's issue 6), not on OpenAI's documentation, and it could not be
reproduced here: there was no browser and the ChatKit web component could not be downloaded. The reports say that
a ChatKit mounted while an ancestor has `display: none` initialises with a zero-sized frame and stays blank or
broken after the container is shown. OpenAI's own starter hides ChatKit while loading with
`opacity-0 pointer-events-none`, never `display: none`, and the samples mount it in a sized, visible container.

The rule walks the JSX ancestors of a reachable `<ChatKit>`/`<openai-chatkit>` in its component and looks for
`style={{ display: "none" }}` (also `display: open ? "flex" : "none"`), the class token `hidden` exactly
(`overflow-hidden` and `md:hidden` are not it; `clsx`/`cn` arguments, template strings and the consts or imported
constants a class name is computed in count) and the `hidden` attribute. When the hiding depends on a condition the fix mounts ChatKit under the same condition
(`{open && <ChatKit …/>}`); `useChatKit` stays where it is, at the top of the component, so its state survives.
An always-hidden container gets the report only.

## Wrong
```tsx
<div className={open ? "block" : "hidden"}>
  <ChatKit control={chatkit.control} className="h-[600px] w-full" />
</div>
```

## Right
```tsx
<div className={open ? "block" : "hidden"}>
  {open && <ChatKit control={chatkit.control} className="h-[600px] w-full" />}
</div>
```
"""

from __future__ import annotations

from functools import partial

from chatkit_fix.analysis.frontend import (
    ancestors,
    attribute_value,
    check_frontend,
    condition_text,
    enclosing_function,
    is_function,
    jsx_ancestors,
    jsx_attributes,
    negated_text,
    opening_of,
    property_key,
    span,
    string_value,
    unwrap,
)
from chatkit_fix.codemods._cases import vite_app
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK105",
    slug="hidden-container",
    safety=Safety.SAFE,
    summary="<ChatKit> inside a container hidden with display:none (Tailwind `hidden`, the hidden attribute)",
    url="https://github.com/openai/openai-chatkit-starter-app/blob/main/components/ChatKitPanel.tsx",
    languages=("tsx",),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)


class Hidden:
    def __init__(self, how: str, visible: str | None):
        self.how = how
        self.visible = visible  # the condition under which the container is shown; None: always hidden


@check_frontend(RULE)
def check(pctx, model):
    for element in model.jsx_elements:
        found = _hidden_ancestor(element.node, Values(model, element))
        if found is None:
            continue
        container, hidden = found
        ctx = pctx.parsed(element.path)
        if ctx is None:
            continue
        opening = opening_of(element.node)
        start = span(opening)[0]
        name = "ChatKit" if element.kind == "react" else "openai-chatkit"
        where = "it" if container == element.node else f"its container on line {ctx.line_of(span(container))}"
        message = (f"<{name}> is mounted while {where} is hidden with {hidden.how}: a web component initialised in a "
                   "display:none container may never render (field reports)")
        if hidden.visible is None:
            yield ctx.finding((start, span(opening)[1]), message,
                              hint="hide it with opacity/visibility or mount it only when shown")
            continue
        yield ctx.finding((start, span(opening)[1]), message, fix=partial(_mount_when, ctx, element.node, hidden.visible),
                          hint=f"mount it only when shown: {{{hidden.visible} && <{name} …/>}}")


class Values:
    """What a name in a className or style stands for (a const of the component or the module, an import), and
    whether a condition read there can be written at the element (the fix mounts `{condition && <ChatKit/>}`)."""

    def __init__(self, model, element):
        self.model = model
        self.path = element.path
        self.scopes = [node for node in ancestors(element.node) if is_function(node)]

    def of(self, node):
        """(value, in scope at the element) for an identifier, else None."""
        if node is None or node.kind() != "identifier":
            return None
        path, value = self.model.resolve_expression(self.path, node)
        if value is None or value == node:
            return None
        owner = enclosing_function(value)
        return value, path == self.path and (owner is None or owner in self.scopes)


def _hidden_ancestor(element, values: Values):
    own = _hidden(opening_of(element), values)
    if own is not None:
        if own.visible is not None and _mounted_when(element, own.visible):
            return None  # `{open && <ChatKit style={{display: open ? "flex" : "none"}} />}`: shown whenever mounted
        return element, own
    for kind, node in jsx_ancestors(element):
        if kind == "conditional":
            return None  # already mounted conditionally below the hiding container
        hidden = _hidden(opening_of(node), values)
        if hidden is not None:
            return node, hidden
    return None


def _mounted_when(element, condition: str) -> bool:
    """Whether the element is mounted only under `condition` (an `&&` or a ternary right around it)."""
    wanted = "".join(condition.split())
    for kind, node in jsx_ancestors(element):
        if kind == "element":
            return False
        if node.kind() == "binary_expression":
            test = node.field("left")
        else:
            test = node.field("condition")
            if node.field("alternative") is not None and _contains(node.field("alternative"), element):
                continue  # mounted when the condition is false
        if test is not None and "".join(condition_text(test).split()) == wanted:
            return True
    return False


def _contains(node, inner) -> bool:
    start, end = span(node)
    inner_start, inner_end = span(inner)
    return start <= inner_start and inner_end <= end


def _resolved(found: Hidden | None, in_scope: bool) -> Hidden | None:
    """A finding through a name: its condition is kept only when it can be written at the element."""
    if found is None or in_scope:
        return found
    return Hidden(found.how, None)


def _hidden(opening, values: Values) -> Hidden | None:
    attributes = jsx_attributes(opening)
    attribute = attributes.get("hidden")
    if attribute is not None:
        value = attribute_value(attribute)
        if value is None or value.kind() == "true":
            return Hidden("the hidden attribute", None)
        if value.kind() != "false" and string_value(value) is None:
            return Hidden("the hidden attribute", negated_text(value))
    style = attributes.get("style")
    if style is not None:
        value = unwrap(attribute_value(style))
        in_scope = True
        resolved = values.of(value)
        if resolved is not None:
            value, in_scope = unwrap(resolved[0]), resolved[1]
        if value is not None and value.kind() == "object":
            for pair in value.named_children():
                if pair.kind() == "pair" and property_key(pair) == "display":
                    found = _resolved(_none_display(pair.field("value")), in_scope)
                    if found is not None:
                        return found
    for name in ("className", "class"):
        attribute = attributes.get(name)
        if attribute is not None:
            value = attribute_value(attribute)
            if value is not None:
                found = _hidden_class(value, values)
                if found is not None:
                    return found
    return None


def _none_display(value) -> Hidden | None:
    value = unwrap(value)
    if value is None:
        return None
    if string_value(value) == "none":
        return Hidden("display: none", None)
    if value.kind() == "ternary_expression":
        consequence = string_value(unwrap(value.field("consequence")))
        alternative = string_value(unwrap(value.field("alternative")))
        if consequence == "none" and alternative != "none":
            return Hidden("display: none", negated_text(value.field("condition")))
        if alternative == "none" and consequence != "none":
            return Hidden("display: none", condition_text(value.field("condition")))
        if alternative == "none" and consequence == "none":
            return Hidden("display: none", None)
    return None


def _tokens(text: str) -> list[str]:
    return text.split()


def _hidden_class(node, values: Values, seen: frozenset = frozenset()) -> Hidden | None:
    """Whether a className expression can yield the token `hidden`, and when it does not; a name is followed to
    the value it is given (`const panelClass = open ? "flex" : "hidden"`)."""
    node = unwrap(node)
    if node is None:
        return None
    kind = node.kind()
    if kind == "identifier":
        resolved = values.of(node) if node.text() not in seen else None
        if resolved is None:
            return None
        return _resolved(_hidden_class(resolved[0], values, seen | {node.text()}), resolved[1])
    value = string_value(node)
    if value is not None:
        return Hidden("the class `hidden`", None) if "hidden" in _tokens(value) else None
    if kind == "template_string":
        pieces = []
        for child in node.children():
            if child.kind() == "string_fragment":
                pieces.append(child.text())
            elif child.kind() == "template_substitution":
                pieces.append(" \x00 ")
                inner = [c for c in child.named_children() if c.kind() != "comment"]
                found = _hidden_class(inner[0], values, seen) if inner else None
                if found is not None:
                    return found
        return Hidden("the class `hidden`", None) if "hidden" in _tokens("".join(pieces)) else None
    if kind == "ternary_expression":
        consequence = _hidden_class(node.field("consequence"), values, seen)
        alternative = _hidden_class(node.field("alternative"), values, seen)
        if consequence is not None and alternative is not None:
            return Hidden("the class `hidden`", None)
        if consequence is not None and consequence.visible is None:
            return Hidden("the class `hidden`", negated_text(node.field("condition")))
        if alternative is not None and alternative.visible is None:
            return Hidden("the class `hidden`", condition_text(node.field("condition")))
        return None
    if kind == "binary_expression":
        operator = node.field("operator").text()
        if operator == "&&":
            right = _hidden_class(node.field("right"), values, seen)
            if right is not None and right.visible is None:
                return Hidden("the class `hidden`", negated_text(node.field("left")))
            return None
        if operator == "+":
            return _hidden_class(node.field("left"), values, seen) or _hidden_class(node.field("right"), values, seen)
        return None
    if kind == "call_expression":
        for argument in node.field("arguments").named_children():
            argument = unwrap(argument)
            if argument.kind() == "object":
                for pair in argument.named_children():
                    key = property_key(pair) if pair.kind() == "pair" else None
                    if key and "hidden" in _tokens(key):
                        return Hidden("the class `hidden`", negated_text(pair.field("value")))
                continue
            found = _hidden_class(argument, values, seen)
            if found is not None:
                return found
        return None
    return None


def _mount_when(ctx, element, condition: str):
    start, end = span(element)
    text = ctx.text[start:end]
    parent = element.parent()
    if parent is not None and parent.kind() == "jsx_element":
        return ctx.replace((start, end), f"{{{condition} && {text}}}")
    return ctx.replace((start, end), f"{condition} ? {text} : null")


WIDGET = '''import { useState } from "react";
import { ChatKit, useChatKit } from "@openai/chatkit-react";
@IMPORTS@
export default function Widget() {
  const [open, setOpen] = useState(false);
  const chatkit = useChatKit({ api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev" } });
  return (
    <div>
      <button type="button" onClick={() => setOpen(!open)}>Chat</button>
@BODY@
    </div>
  );
}
'''


def _widget(body: str, imports: str = "", before: str = "") -> dict[str, str]:
    return vite_app("Widget", _text(body, imports, before))


def _fixed(body: str, imports: str = "", before: str = "") -> dict[str, str]:
    return {"src/Widget.tsx": _text(body, imports, before)}


def _text(body: str, imports: str, before: str) -> str:
    """The widget with `body` in its <div>, `imports` above it and `before` (statements) before its return."""
    text = WIDGET.replace("@IMPORTS@\n", imports).replace("@BODY@", body.rstrip("\n"))
    return text.replace("  return (\n", before + "  return (\n", 1)


PANEL_CLASS = '  const panelClass = open ? "flex flex-col" : "hidden";\n'
SHARED_CLASSES = 'import { closedPanel } from "./panelClasses";\n'


CLSX = 'import clsx from "clsx";\n'

RULE.cases(
    valid=[
        Valid(_widget('      <div className="overflow-hidden md:hidden rounded-xl">\n'
                      '        <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n      </div>'),
              name="overflow-hidden and md:hidden are not display:none"),
        Valid(_widget('      <div className={open ? "opacity-100" : "pointer-events-none opacity-0"}>\n'
                      '        <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n      </div>'),
              name="opacity like the starter"),
        Valid(_widget('      <div className={open ? "block" : "hidden"}>\n'
                      '        {open && <ChatKit control={chatkit.control} className="h-[600px] w-full" />}\n      </div>'),
              name="already mounted conditionally"),
        Valid(_widget('      {open && <ChatKit control={chatkit.control} className="h-[600px] w-full" />}'),
              name="conditional mount"),
        Valid(_widget('      <div className={panelClass}>\n'
                      '        <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n      </div>',
                      before='  const panelClass = open ? "flex flex-col" : "invisible";\n'),
              name="a computed class that only makes it invisible"),
        Valid(_widget('      {open && <ChatKit control={chatkit.control} style={{ display: open ? "flex" : "none", height: 600 }} />}'),
              name="hidden by its own style only when unmounted anyway"),
    ],
    invalid=[
        Invalid(_widget('      <div className={open ? "block" : "hidden"}>\n'
                        '        <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n      </div>'),
                _fixed('      <div className={open ? "block" : "hidden"}>\n'
                       '        {open && <ChatKit control={chatkit.control} className="h-[600px] w-full" />}\n      </div>'),
                findings=[("src/Widget.tsx", 10, 9, "<ChatKit> is mounted while its container on line 9 is hidden with the class")], name="tailwind hidden in a ternary"),
        Invalid(_widget('      <div style={{ display: open ? "flex" : "none", height: 600 }}>\n'
                        '        <ChatKit\n          control={chatkit.control}\n          className="h-full w-full"\n        />\n      </div>'),
                _fixed('      <div style={{ display: open ? "flex" : "none", height: 600 }}>\n'
                       '        {open && <ChatKit\n          control={chatkit.control}\n          className="h-full w-full"\n        />}\n      </div>'),
                findings=[("src/Widget.tsx", 10, 9, "<ChatKit> is mounted while its container on line 9 is hidden with display")], name="inline style display none"),
        Invalid(_widget('      <section hidden={!open}>\n        <div className="h-[600px]">\n'
                        '          <ChatKit control={chatkit.control} className="h-full w-full" />\n        </div>\n      </section>'),
                _fixed('      <section hidden={!open}>\n        <div className="h-[600px]">\n'
                       '          {open && <ChatKit control={chatkit.control} className="h-full w-full" />}\n        </div>\n      </section>'),
                findings=[("src/Widget.tsx", 11, 11, "<ChatKit> is mounted while its container on line 9 is hidden with the hidden")], name="hidden attribute two levels up"),
        Invalid(_widget('      <aside className={clsx("fixed bottom-4 right-4", !open && "hidden")}>\n'
                        '        <ChatKit control={chatkit.control} className="h-[600px] w-[400px]" />\n      </aside>', CLSX),
                _fixed('      <aside className={clsx("fixed bottom-4 right-4", !open && "hidden")}>\n'
                       '        {open && <ChatKit control={chatkit.control} className="h-[600px] w-[400px]" />}\n      </aside>', CLSX),
                findings=[("src/Widget.tsx", 11, 9, "<ChatKit> is mounted while its container on line 10 is hidden with the class")], name="clsx condition"),
        Invalid(_widget('      <div className={`panel ${open ? "flex" : "hidden"} flex-col`}>\n'
                        '        <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n      </div>'),
                _fixed('      <div className={`panel ${open ? "flex" : "hidden"} flex-col`}>\n'
                       '        {open && <ChatKit control={chatkit.control} className="h-[600px] w-full" />}\n      </div>'),
                findings=[("src/Widget.tsx", 10, 9, "<ChatKit> is mounted while its container on line 9 is hidden with the class")], name="template literal class"),
        Invalid(_widget('      <div className="hidden lg:block">\n'
                        '        <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n      </div>'),
                None, findings=[("src/Widget.tsx", 10, 9, "<ChatKit> is mounted while its container on line 9 is hidden with the class")], name="always hidden below lg: report only"),
        Invalid(_widget('      <div className={panelClass}>\n'
                        '        <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n      </div>', before=PANEL_CLASS),
                _fixed('      <div className={panelClass}>\n'
                       '        {open && <ChatKit control={chatkit.control} className="h-[600px] w-full" />}\n      </div>',
                       before=PANEL_CLASS),
                findings=[("src/Widget.tsx", 11, 9, "<ChatKit> is mounted while its container on line 10 is hidden with the class")],
                name="hidden through a className computed in a const of the component"),
        Invalid({**_widget('      <div className={`rounded-xl ${open ? "" : closedPanel}`}>\n'
                           '        <ChatKit control={chatkit.control} className="h-[600px] w-full" />\n      </div>', SHARED_CLASSES),
                 "src/panelClasses.ts": 'export const closedPanel = "hidden";\n'},
                _fixed('      <div className={`rounded-xl ${open ? "" : closedPanel}`}>\n'
                       '        {open && <ChatKit control={chatkit.control} className="h-[600px] w-full" />}\n      </div>', SHARED_CLASSES),
                findings=[("src/Widget.tsx", 11, 9, "<ChatKit> is mounted while its container on line 10 is hidden with the class")],
                name="hidden through a class constant imported from another module"),
        Invalid(_widget('      <ChatKit control={chatkit.control} style={{ display: open ? "flex" : "none", height: 600 }} />'),
                _fixed('      {open && <ChatKit control={chatkit.control} style={{ display: open ? "flex" : "none", height: 600 }} />}'),
                findings=[("src/Widget.tsx", 9, 7, "<ChatKit> is mounted while it is hidden with display: none")],
                name="the element hides itself until a flag flips"),
    ],
)
