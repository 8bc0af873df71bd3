"""The project renders ChatKit but no page loads chatkit.js, so `<openai-chatkit>` is never defined.

## Why
`@openai/chatkit-react` does not contain the web component. `<ChatKit>` renders an `<openai-chatkit>` element and
calls `setOptions()` only after `customElements.whenDefined("openai-chatkit")` resolves. That happens only when
`https://cdn.platform.openai.com/deployments/chatkit/chatkit.js` has been loaded; `@openai/chatkit` on npm is
types only. Without the script the promise never resolves: the panel stays blank, with no error in the console and
no request to the back end.

The rule looks where the script may be loaded: the Next app router's root layout (`app/` or `src/app/`, route
groups), any layout or page, the pages router's `_document`/`_app`, Vite's `index.html`, Docusaurus' `scripts`
or `Root.tsx`, and `document.createElement("script")`. A `<ChatKit>` nothing mounts is dead code and gets no
finding (a library package's own component, a page in a Next private `_folder`); a near-miss URL is CK102, not this
rule; a `chatkit.js` the project serves itself (a copy, its own proxy of the CDN) loads the component. The finding sits where the fix goes: the root layout,
`_app`/`_document`, `index.html` or `docusaurus.config`.

## Wrong
```tsx
// app/layout.tsx
export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
```

## Right
```tsx
// app/layout.tsx
import Script from "next/script";

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" strategy="afterInteractive" />
        {children}
      </body>
    </html>
  );
}
```
For Vite, `<script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" async></script>` in the
`<head>` of `index.html`.
"""

from __future__ import annotations

from chatkit_fix.analysis.frontend import (
    CDN_URL,
    FrontendModel,
    at_line_start,
    check_frontend,
    ensure_import,
    find_all,
    indent_unit,
    insert_first_child,
    jsx_elements_named,
    line_indent,
    property_key,
    relative,
    returned_expression,
    span,
    unwrap,
)
from chatkit_fix.codemods._cases import (
    NEXT_PACKAGE,
    VITE_PACKAGE,
    edited,
    next_page,
    next_panel,
    vite_app,
    vite_html,
    vite_main,
)
from chatkit_fix.findings import Safety
from chatkit_fix.project import inside
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK101",
    slug="cdn-script-missing",
    safety=Safety.SAFE,
    summary="ChatKit is rendered but no page loads chatkit.js from the OpenAI CDN (the panel stays blank)",
    url="https://github.com/openai/chatkit-js#quickstart",
    languages=("tsx", "html"),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)

SCRIPT_TAG = f'<script src="{CDN_URL}" async></script>'


@check_frontend(RULE)
def check(pctx, model):
    rendered: dict = {}  # the root of each page that mounts ChatKit (a workspace library's is its app's)
    for path in [element.path for element in model.elements] + model.dynamic_chatkit_files():
        for entry in model.entries_reaching(path):
            rendered.setdefault(model.root_of(entry).path, []).append(path)
    for root in model.roots:
        users = rendered.get(root.path)
        if not users:
            continue
        if _loads_script(model, root):
            continue
        yield from _report(pctx, model, root, sorted(set(users)))


def _loads_script(model: FrontendModel, root) -> bool:
    for ref in model.script_refs:
        if model.root_of(ref.path) is not root:
            continue
        if ref.path.suffix.lower() in (".html", ".htm") and ref.path not in root.html_files:
            continue
        if ref.verdict == "official" or ref.loads:
            return True  # the official URL anywhere; a near miss (CK102's) or a self-hosted copy where it is loaded
    return any(model.root_of(path) is root for path in model.dynamic_script_loads)


def _report(pctx, model: FrontendModel, root, users):
    where = relative(model, users[0])
    message = (f"ChatKit is rendered ({where}) but no page loads chatkit.js: <openai-chatkit> is never defined and "
               "the panel stays blank")
    entries = set()
    for path in users:
        entries |= model.entries_reaching(path)
    layouts = model.root_layouts(root)
    covering = [layout for layout in layouts if any(inside(entry, layout.parent) for entry in entries)]
    for layout in covering:
        yield layout_finding(pctx, model, layout, message)
    if covering:
        return
    # no root layout wraps the pages that render ChatKit: in an app that also keeps the pages router, _app does;
    # without an _app the finding goes to the element (the script belongs in a file that does not exist yet)
    if root.pages_dirs and root.is_next:
        special = {p.stem: p for p in model.files_of_root(root)
                   if p.parent in root.pages_dirs and p.stem in ("_app", "_document") and p.suffix in (".tsx", ".jsx", ".js", ".ts")}
        if "_app" in special:
            yield _app_finding(pctx, model, special["_app"], message)
            return
        if "_document" in special:
            yield _document_finding(pctx, model, special["_document"], message)
            return
    html = [p for p in root.html_files if p in entries] or [p for p in root.html_files if p.parent == root.path and p.name == "index.html"]
    if html:
        for page in html:
            yield html_finding(pctx, page, message)
        return
    if root.docusaurus_config is not None:
        yield _docusaurus_finding(pctx, model, root.docusaurus_config, message)
        return
    element = next((e for e in model.elements if e.path == users[0]), None)
    ctx = pctx.parsed(users[0])
    if ctx is None:
        return
    anchor = span(element.node) if element is not None and hasattr(element.node, "range") else (0, 0)
    yield ctx.finding(anchor, message, hint=f"load {CDN_URL} in the page that renders ChatKit (a <script> tag or next/script)")



def _script_element(local: str) -> str:
    return f'<{local} src="{CDN_URL}" strategy="afterInteractive" />'


def layout_finding(pctx, model: FrontendModel, layout, message):
    """The finding for a Next root layout, with the fix; `chatkit-fix init` merges with this same fix."""
    ctx = pctx.parsed(layout)
    script = model.script(layout)
    bodies = jsx_elements_named(script, "body") if script is not None else []
    hint = f'add <Script src="{CDN_URL}" strategy="afterInteractive" /> inside <body> (import Script from "next/script")'
    body = next((b for b in bodies if b.kind() == "jsx_element"), None)
    if body is None:
        anchor = span(bodies[0]) if bodies else (0, 0)
        return ctx.finding(anchor, message, hint=hint)
    local, import_edit = ensure_import(ctx, script, "next/script", "Script", default=True)
    child = insert_first_child(ctx, script.text, body, _script_element(local))
    return ctx.finding(span(body.child(0)), message, fix=[import_edit, child], hint=hint)


def _app_finding(pctx, model: FrontendModel, app, message):
    ctx = pctx.parsed(app)
    script = model.script(app)
    hint = f'render <Script src="{CDN_URL}" strategy="afterInteractive" /> in _app (import Script from "next/script")'
    returned = None
    for function in find_all(script.root, "function_declaration") + find_all(script.root, "arrow_function"):
        candidate = returned_expression(function)
        if candidate is not None and candidate.kind() in ("jsx_element", "jsx_self_closing_element", "jsx_fragment"):
            returned = candidate
            break
    if returned is None:
        return ctx.finding((0, 0), message, hint=hint)
    local, import_edit = ensure_import(ctx, script, "next/script", "Script", default=True)
    text = script.text
    start, end = span(returned)
    if returned.kind() == "jsx_element":
        edit = insert_first_child(ctx, text, returned, _script_element(local))
    elif at_line_start(text, start):
        indent = line_indent(text, start)
        unit = indent_unit(text)
        inner = "\n".join((unit + line if line.strip() else line) for line in text[start:end].split("\n"))
        edit = ctx.replace((start, end), f"<>\n{indent}{unit}{_script_element(local)}\n{indent}{inner}\n{indent}</>")
    else:
        edit = ctx.replace((start, end), f"<>{_script_element(local)}{text[start:end]}</>")
    return ctx.finding((start, end), message, fix=[import_edit, edit], hint=hint)


def _document_finding(pctx, model: FrontendModel, document, message):
    ctx = pctx.parsed(document)
    script = model.script(document)
    heads = [h for h in jsx_elements_named(script, "Head") if h.kind() == "jsx_element"]
    hint = f'add <script src="{CDN_URL}" async /> inside <Head> of _document'
    if not heads:
        return ctx.finding((0, 0), message, hint=hint)
    edit = insert_first_child(ctx, script.text, heads[0], f'<script src="{CDN_URL}" async />')
    return ctx.finding(span(heads[0].child(0)), message, fix=edit, hint=hint)


def html_finding(pctx, page, message):
    """The finding for an HTML entry page, with the fix; `chatkit-fix init` merges with this same fix."""
    ctx = pctx.parsed(page)
    text = ctx.text
    hint = f"add {SCRIPT_TAG} to the <head> of {page.name}"
    head_end = next((t for t in ctx.tags if t.name == "head" and t.closing), None)
    head_start = next((t for t in ctx.tags if t.name == "head" and not t.closing), None)
    anchor = (head_start.start, head_start.end) if head_start is not None else (0, 0)
    if head_end is not None:
        offset = head_end.start
        if at_line_start(text, offset):
            line_start = text.rfind("\n", 0, offset) + 1
            inside = [t for t in ctx.tags if head_start is not None and head_start.end <= t.start < head_end.start and not t.closing]
            indent = line_indent(text, inside[-1].start) if inside and at_line_start(text, inside[-1].start) else \
                line_indent(text, offset) + indent_unit(text)
            edit = ctx.insert(line_start, f"{indent}{SCRIPT_TAG}\n")
        else:
            edit = ctx.insert(offset, SCRIPT_TAG)
        return ctx.finding(anchor, message, fix=edit, hint=hint)
    if head_start is not None:
        return ctx.finding(anchor, message, fix=ctx.insert(head_start.end, SCRIPT_TAG), hint=hint)
    return ctx.finding(anchor, message, hint=hint)


def _docusaurus_finding(pctx, model: FrontendModel, config, message):
    ctx = pctx.parsed(config)
    script = model.script(config)
    entry = f'{{ src: "{CDN_URL}", async: true }}'
    hint = f"add {entry} to `scripts` in {config.name}"
    text = script.text
    for pair in find_all(script.root, "pair"):
        if property_key(pair) != "scripts":
            continue
        value = unwrap(pair.field("value"))
        if value is None or value.kind() != "array":
            return ctx.finding(span(pair), message, hint=hint)
        items = [c for c in value.named_children() if c.kind() != "comment"]
        if items:
            last_end = span(items[-1])[1]
            if at_line_start(text, span(items[-1])[0]):
                edit = ctx.insert(last_end, f",\n{line_indent(text, span(items[-1])[0])}{entry}")
            else:
                edit = ctx.insert(last_end, f", {entry}")
        else:
            start, end = span(value)
            edit = ctx.replace((start, end), f"[{entry}]")
        return ctx.finding(span(pair), message, fix=edit, hint=hint)
    config_object = _config_object(script)
    if config_object is None:
        return ctx.finding((0, 0), message, hint=hint)
    members = [c for c in config_object.named_children() if c.kind() != "comment"]
    start = span(config_object)[0]
    brace = (start, start + 1)
    if not members or any(member.kind() == "spread_element" for member in members):
        # a spread config's own `scripts` would win over an entry written before it, or be lost under one after it
        return ctx.finding(brace, message, hint=hint)
    first = members[0]
    indent = line_indent(text, span(first)[0])
    edit = ctx.insert(span(first)[0], f"scripts: [{entry}],\n{indent}")
    return ctx.finding(brace, message, fix=edit, hint=hint)


def _config_object(script):
    """The object literal a Docusaurus config exports (`const config = {...}`, `module.exports = {...}`)."""
    best = None
    for kind in ("variable_declarator", "assignment_expression", "export_statement"):
        for node in find_all(script.root, kind):
            value = node.field("value") if kind != "assignment_expression" else node.field("right")
            value = unwrap(value) if value is not None else None
            if value is not None and value.kind() == "object":
                keys = {property_key(m) for m in value.named_children()}
                if "title" in keys or "url" in keys or "presets" in keys:
                    return value
                best = best or value
    return best


DOCUMENT = """import { Head, Html, Main, NextScript } from "next/document";

export default function Document() {
  return (
    <Html lang="en">
      @HEAD@
      <body>
        <Main />
        <NextScript />
      </body>
    </Html>
  );
}
"""
GROUP_LAYOUT = """import type { ReactNode } from "react";

export default function GroupLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
"""
DYNAMIC_PAGE = """"use client";

import { useEffect, useState } from "react";

type ChatKitModule = typeof import("@openai/chatkit-react");

function Panel({ kit }: { kit: ChatKitModule }) {
  const chatkit = kit.useChatKit({ api: { url: "/api/chatkit", domainKey: "domain_pk_localhost_dev" } });
  return <kit.ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}

export default function ChatPage() {
  const [kit, setKit] = useState<ChatKitModule | null>(null);
  useEffect(() => {
    void import("@openai/chatkit-react").then(setKit);
  }, []);
  return kit ? <Panel kit={kit} /> : <p>Loading…</p>;
}
"""
DOCUSAURUS_JS = """// @ts-check

/** @type {import('@docusaurus/types').Config} */
const config = {
  title: "Docs",
  url: "https://example.com",
  baseUrl: "/",
@SCRIPTS@};

module.exports = config;
"""
NEXT_PAGE = '"use client";\n\n' + next_page("ChatPanel", "@/components/ChatPanel")
CHAT_PANEL = next_panel("/api/chatkit")
TSCONFIG_ALIAS = '{\n  // paths as create-next-app writes them\n  "compilerOptions": {"paths": {"@/*": ["./src/*"]},},\n}\n'
LAYOUT_BEFORE = """import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = { title: "Support" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="antialiased">
        {children}
      </body>
    </html>
  );
}
"""
LAYOUT_AFTER = edited(
    LAYOUT_BEFORE,
    ('import "./globals.css";\n',
     'import "./globals.css";\n'
     'import Script from "next/script";\n'),
    ('      <body className="antialiased">\n',
     '      <body className="antialiased">\n'
     '        <Script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" strategy="afterInteractive" />\n'),
)
VITE_APP = """import { ChatKit, useChatKit } from "@openai/chatkit-react";

export default function App() {
  const chatkit = useChatKit({ api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev" } });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
"""


LIBRARY_PACKAGE = ('{"name": "@acme/chat-ui", "exports": {".": "./dist/index.js"}, "types": "./dist/index.d.ts", '
                   '"peerDependencies": {"@openai/chatkit-react": "^1.6.1", "react": "^19.0.0"}}\n')
LIBRARY_INDEX = 'export { SupportChat } from "./SupportChat";\n'
LIBRARY_CHAT = """import { ChatKit, useChatKit } from "@openai/chatkit-react";

export function SupportChat({ url }: { url: string }) {
  const chatkit = useChatKit({ api: { url, domainKey: "domain_pk_localhost_dev" } });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
"""
WORKSPACE_APP = """import { createRoot } from "react-dom/client";
import { SupportChat } from "@acme/chat-ui";

createRoot(document.getElementById("root")!).render(<SupportChat url="/chatkit" />);
"""


def _library(**app: str) -> dict[str, str]:
    """A workspace whose packages/chat-ui library renders ChatKit; `app` adds the files of an app next to it."""
    return {"package.json": '{"private": true, "workspaces": ["packages/*", "apps/*"]}\n',
            "packages/chat-ui/package.json": LIBRARY_PACKAGE, "packages/chat-ui/src/index.ts": LIBRARY_INDEX,
            "packages/chat-ui/src/SupportChat.tsx": LIBRARY_CHAT, **app}


def _index_html(script: str) -> str:
    head = '    <meta charset="UTF-8" />\n    <title>Chat</title>\n' + script
    return vite_html(head, start='<!doctype html>\n<html lang="en">')


def _bare_html(head: str) -> str:
    """index.html of a Vite app whose <head> holds exactly `head` (the text between <head> and </head>)."""
    return ('<!doctype html>\n<html lang="en">\n  <head>' + head + '</head>\n  <body>\n    <div id="root"></div>\n'
            '    <script type="module" src="/src/main.tsx"></script>\n  </body>\n</html>\n')


# HTML lets a page omit </head>, or the whole <head>
HTML_HEAD_UNCLOSED = ('<!doctype html>\n<html lang="en">\n<head><meta charset="UTF-8" /><title>Chat</title>\n<body>\n'
                      '<div id="root"></div>\n<script type="module" src="/src/main.tsx"></script>\n</body>\n</html>\n')
HTML_NO_HEAD = ('<!doctype html>\n<html lang="en">\n<body>\n<div id="root"></div>\n'
                '<script type="module" src="/src/main.tsx"></script>\n</body>\n</html>\n')
PAGES_INDEX = ("import ChatPanel from \"../components/ChatPanel\";\n\n"
               "export default function Home() {\n  return <ChatPanel />;\n}\n")
APP_BEFORE = ("import type { AppProps } from \"next/app\";\n\n"
              "export default function App({ Component, pageProps }: AppProps) {\n  return (\n@RETURNED@  );\n}\n")
NEXT_SCRIPT = f'<Script src="{CDN_URL}" strategy="afterInteractive" />'
DOCUSAURUS_PACKAGE = '{"dependencies": {"@docusaurus/core": "3.9.2", "@openai/chatkit-react": "1.6.1", "react": "19.3.1"}}\n'
DOCUSAURUS_ROOT = ("import ChatPanel from \"../components/ChatPanel\";\n\n"
                   "export default function Root({ children }) {\n  return <>{children}<ChatPanel /></>;\n}\n")
DOCUSAURUS_ENTRY = f'{{ src: "{CDN_URL}", async: true }}'


def _docusaurus(config: str, name: str = "docusaurus.config.js") -> dict[str, str]:
    return {"package.json": DOCUSAURUS_PACKAGE, name: config, "src/theme/Root.js": DOCUSAURUS_ROOT,
            "src/components/ChatPanel.tsx": CHAT_PANEL}


def _apps(docs_head: str, web_head: str) -> dict[str, str]:
    """A workspace of two Vite apps: apps/docs (no ChatKit) and apps/web (renders ChatKit), each with its index.html."""
    return {"package.json": '{"private": true, "workspaces": ["apps/*"]}\n',
            "apps/docs/package.json": VITE_PACKAGE, "apps/docs/index.html": _index_html(docs_head),
            "apps/docs/src/main.tsx": 'document.title = "Docs";\n',
            "apps/web/package.json": VITE_PACKAGE, "apps/web/index.html": _index_html(web_head),
            "apps/web/src/main.tsx": vite_main("App"), "apps/web/src/App.tsx": VITE_APP}


WEBPACK_HTML = ('<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n    <title>Chat</title>\n  </head>\n'
                '  <body>\n    <div id="root"></div>\n  </body>\n</html>\n')  # html-webpack-plugin adds the bundle
WEBPACK_PACKAGE = ('{"dependencies": {"@openai/chatkit-react": "1.6.1", "react": "19.3.1", "react-dom": "19.3.1"}, '
                   '"devDependencies": {"html-webpack-plugin": "5.6.3", "webpack": "5.97.1"}}\n')
UNKNOWN_PACKAGE = '{"dependencies": {"@openai/chatkit-react": "1.6.1", "react": "19.3.1", "react-dom": "19.3.1"}}\n'
APP_WITH_SHELL = """import type { AppProps } from "next/app";
import type { ReactNode } from "react";

const Shell = ({ children }: { children: ReactNode }) => <div className="app">{children}</div>;

export default function App({ Component, pageProps }: AppProps) {
  return (
    <Shell>
      <Component {...pageProps} />
    </Shell>
  );
}
"""
LOADER = """export function loadScript(url: string): Promise<void> {
  return new Promise((resolve) => {
    const tag = Object.assign(document.createElement("script"), { src: url, onload: () => resolve() });
    document.head.append(tag);
  });
}
"""


RULE.cases(
    valid=[
        Valid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_AFTER,
            "app/page.tsx": NEXT_PAGE.replace("@/components/ChatPanel", "../components/ChatPanel"),
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, name="next root layout loads the script"),
        Valid(vite_app("App", VITE_APP, html=_index_html(f'    <script src="{CDN_URL}"></script>\n')),
              name="vite index.html"),
        Valid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": "export default function Home() {\n  return <main>Hello</main>;\n}\n",
            "components/OldChat.tsx": CHAT_PANEL,
        }, name="dead code: nothing mounts the widget"),
        Valid(vite_app("App", """import { useEffect } from "react";
import { ChatKit, useChatKit } from "@openai/chatkit-react";

const CHATKIT_SRC = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js";

export default function App() {
  useEffect(() => {
    const script = document.createElement("script");
    script.src = CHATKIT_SRC;
    script.async = true;
    document.head.appendChild(script);
  }, []);
  const chatkit = useChatKit({ api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev" } });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
""", html=_index_html("")), name="script injected with createElement"),
        Valid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": NEXT_PAGE.replace("@/components/ChatPanel", "../components/ChatPanel"),
            "components/ChatPanel.tsx": CHAT_PANEL.replace(
                'import { ChatKit, useChatKit } from "@openai/chatkit-react";',
                'import Script from "next/script";\nimport { ChatKit, useChatKit } from "@openai/chatkit-react";').replace(
                '  return <ChatKit control={control} className="h-[600px] w-full" />;',
                '  return (\n    <>\n      <Script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" />\n'
                '      <ChatKit control={control} className="h-[600px] w-full" />\n    </>\n  );'),
        }, name="per-page next/script"),
        Valid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": NEXT_PAGE.replace("@/components/ChatPanel", "../components/ChatPanel"),
            "components/ChatPanel.tsx": CHAT_PANEL,
            "index.html": _index_html('    <script src="https://cdn.openai.com/chatkit/chatkit.js"></script>\n'),
        }, name="near-miss URL is CK102 only"),
        Valid({
            "package.json": '{"dependencies": {"@docusaurus/core": "3.9.2", "@openai/chatkit-react": "1.6.1", "react": "19.3.1"}}\n',
            "docusaurus.config.js": DOCUSAURUS_JS.replace("@SCRIPTS@", f"  scripts: [{{ src: \"{CDN_URL}\", async: true }}],\n"),
            "src/theme/Root.js": "import ChatPanel from \"../components/ChatPanel\";\n\n"
                                 "export default function Root({ children }) {\n  return <>{children}<ChatPanel /></>;\n}\n",
            "src/components/ChatPanel.tsx": CHAT_PANEL,
        }, name="docusaurus scripts"),
        Valid(_library(), name="a library package's own component: no app of the repository mounts it"),
        Valid(vite_app("App", VITE_APP, html=_index_html(
            '    <script src="https://chat.example.com/api/chatkit/assets/chatkit.js" async></script>\n')),
            name="chatkit.js served by the project's own proxy of the CDN"),
        Valid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": "export default function Home() {\n  return <main>Hello</main>;\n}\n",
            "app/_archive/chat/page.tsx": NEXT_PAGE.replace("@/components/ChatPanel", "../../../components/ChatPanel"),
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, name="next private folder: its pages are not routed"),
        Valid(_apps(f'    <script src="{CDN_URL}"></script>\n', f'    <script src="{CDN_URL}"></script>\n'),
              name="two apps of a workspace, each loading the script"),
        Valid(vite_app("App", VITE_APP.replace(
            'import { ChatKit', 'import { loadScript } from "./loadScript";\nimport { ChatKit').replace(
            "export default", f'const CHATKIT_URL = "{CDN_URL}";\nvoid loadScript(CHATKIT_URL);\n\nexport default'),
            html=_index_html(""), **{"src/loadScript.ts": LOADER}),
            name="the official URL handed to the project's own loader: the rule cannot follow it and trusts it"),
    ],
    invalid=[
        Invalid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": NEXT_PAGE.replace("@/components/ChatPanel", "../components/ChatPanel"),
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, {"app/layout.tsx": LAYOUT_AFTER}, findings=[("app/layout.tsx", 10, 7, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")], name="next app router"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "tsconfig.json": TSCONFIG_ALIAS,
            "src/app/layout.tsx": "import type { ReactNode } from \"react\";\n\n"
                                  "export default function RootLayout({ children }: { children: ReactNode }) {\n"
                                  "  return (\n    <html lang=\"en\">\n      <body>{children}</body>\n    </html>\n  );\n}\n",
            "src/app/(dashboard)/layout.tsx": "import type { ReactNode } from \"react\";\n\n"
                                              "export default function DashboardLayout({ children }: { children: ReactNode }) {\n"
                                              "  return <section className=\"p-4\">{children}</section>;\n}\n",
            "src/app/(dashboard)/chat/page.tsx": NEXT_PAGE,
            "src/components/ChatPanel.tsx": CHAT_PANEL,
        }, {
            "src/app/layout.tsx": "import type { ReactNode } from \"react\";\nimport Script from \"next/script\";\n\n"
                                  "export default function RootLayout({ children }: { children: ReactNode }) {\n"
                                  "  return (\n    <html lang=\"en\">\n      <body>\n"
                                  f"        <Script src=\"{CDN_URL}\" strategy=\"afterInteractive\" />\n"
                                  "        {children}\n      </body>\n    </html>\n  );\n}\n",
        }, findings=[("src/app/layout.tsx", 6, 7, "ChatKit is rendered (src/components/ChatPanel.tsx) but no page loads chatkit.js")], name="src/app, route group, @/ alias, one-line body"),
        Invalid(vite_app("App", VITE_APP, html=_index_html("")), {"index.html": _index_html(f"    {SCRIPT_TAG}\n")},
                findings=[("index.html", 3, 3, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")], name="vite index.html"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "pages/_app.tsx": "import type { AppProps } from \"next/app\";\n\n"
                              "export default function App({ Component, pageProps }: AppProps) {\n"
                              "  return <Component {...pageProps} />;\n}\n",
            "pages/index.tsx": "import ChatPanel from \"../components/ChatPanel\";\n\n"
                               "export default function Home() {\n  return <ChatPanel />;\n}\n",
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, {
            "pages/_app.tsx": "import type { AppProps } from \"next/app\";\nimport Script from \"next/script\";\n\n"
                              "export default function App({ Component, pageProps }: AppProps) {\n"
                              f"  return <><Script src=\"{CDN_URL}\" strategy=\"afterInteractive\" /><Component {{...pageProps}} /></>;\n}}\n",
        }, findings=[("pages/_app.tsx", 4, 10, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")], name="pages router _app"),
        Invalid({
            "package.json": '{"dependencies": {"@docusaurus/core": "3.9.2", "@openai/chatkit-react": "1.6.1", "react": "19.3.1"}}\n',
            "docusaurus.config.ts": "import type { Config } from \"@docusaurus/types\";\n\n"
                                    "const config: Config = {\n  title: \"Docs\",\n  url: \"https://example.com\",\n  baseUrl: \"/\",\n};\n\n"
                                    "export default config;\n",
            "src/theme/Root.tsx": "import type { ReactNode } from \"react\";\nimport ChatPanel from \"../components/ChatPanel\";\n\n"
                                  "export default function Root({ children }: { children: ReactNode }) {\n"
                                  "  return (\n    <>\n      {children}\n      <ChatPanel />\n    </>\n  );\n}\n",
            "src/components/ChatPanel.tsx": CHAT_PANEL,
        }, {
            "docusaurus.config.ts": "import type { Config } from \"@docusaurus/types\";\n\n"
                                    f"const config: Config = {{\n  scripts: [{{ src: \"{CDN_URL}\", async: true }}],\n"
                                    "  title: \"Docs\",\n  url: \"https://example.com\",\n  baseUrl: \"/\",\n};\n\n"
                                    "export default config;\n",
        }, findings=[("docusaurus.config.ts", 3, 24, "ChatKit is rendered (src/components/ChatPanel.tsx) but no page loads chatkit.js")], name="docusaurus Root.tsx"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": "import dynamic from \"next/dynamic\";\n\n"
                            "const ChatPanel = dynamic(() => import(\"../components/ChatPanel\"), { ssr: false });\n\n"
                            "export default function Home() {\n  return <ChatPanel />;\n}\n",
            "components/ChatPanel.tsx": """"use client";

export default function ChatPanel() {
  return <openai-chatkit className="block h-[600px]" />;
}
""",
        }, {"app/layout.tsx": LAYOUT_AFTER}, findings=[("app/layout.tsx", 10, 7, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")], name="next/dynamic and the raw element"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "pages/_document.tsx": DOCUMENT.replace("@HEAD@", "<Head>\n          <meta name=\"theme-color\" content=\"#000\" />\n        </Head>"),
            "pages/chat.tsx": "import ChatPanel from \"../components/ChatPanel\";\n\n"
                              "export default function Chat() {\n  return <ChatPanel />;\n}\n",
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, {
            "pages/_document.tsx": DOCUMENT.replace("@HEAD@", "<Head>\n"
                                                    f"          <script src=\"{CDN_URL}\" async />\n"
                                                    "          <meta name=\"theme-color\" content=\"#000\" />\n        </Head>"),
        }, findings=[("pages/_document.tsx", 6, 7, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")], name="pages router _document"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "app/(marketing)/layout.tsx": GROUP_LAYOUT,
            "app/(marketing)/page.tsx": "export default function Home() {\n  return <h1>Hi</h1>;\n}\n",
            "app/(app)/layout.tsx": GROUP_LAYOUT,
            "app/(app)/chat/page.tsx": DYNAMIC_PAGE,
        }, {
            "app/(app)/layout.tsx": GROUP_LAYOUT.replace('import type { ReactNode } from "react";',
                                                         'import type { ReactNode } from "react";\nimport Script from "next/script";').replace(
                "      <body>{children}</body>",
                f"      <body>\n        <Script src=\"{CDN_URL}\" strategy=\"afterInteractive\" />\n        {{children}}\n      </body>"),
        }, findings=[("app/(app)/layout.tsx", 6, 7, "ChatKit is rendered (app/(app)/chat/page.tsx) but no page loads chatkit.js")], name="several root layouts, dynamic import of chatkit-react"),
        Invalid({
            "package.json": '{"dependencies": {"@docusaurus/core": "3.9.2", "@openai/chatkit-react": "1.6.1", "react": "19.3.1"}}\n',
            "docusaurus.config.js": DOCUSAURUS_JS.replace("@SCRIPTS@", "  scripts: [\n    \"/js/analytics.js\",\n  ],\n"),
            "src/theme/Root.js": "import ChatPanel from \"../components/ChatPanel\";\n\n"
                                 "export default function Root({ children }) {\n  return (\n    <>\n      {children}\n      <ChatPanel />\n    </>\n  );\n}\n",
            "src/components/ChatPanel.tsx": CHAT_PANEL,
        }, {
            "docusaurus.config.js": DOCUSAURUS_JS.replace(
                "@SCRIPTS@", f"  scripts: [\n    \"/js/analytics.js\",\n    {{ src: \"{CDN_URL}\", async: true }},\n  ],\n"),
        }, findings=[("docusaurus.config.js", 8, 3, "ChatKit is rendered (src/components/ChatPanel.tsx) but no page loads chatkit.js")], name="docusaurus config with scripts"),
        Invalid(_library(**{
            "apps/web/package.json": '{"dependencies": {"@acme/chat-ui": "workspace:*", "react": "19.3.1", "vite": "7.2.4"}}\n',
            "apps/web/index.html": _index_html(""), "apps/web/src/main.tsx": WORKSPACE_APP,
        }), {"apps/web/index.html": _index_html(f"    {SCRIPT_TAG}\n")},
            findings=[("apps/web/index.html", 3, 3, "ChatKit is rendered (packages/chat-ui/src/SupportChat.tsx)")],
            name="a workspace library mounted by an app that loads no script"),
        Invalid(vite_app("App", VITE_APP, html=_bare_html("\n      <title>Chat</title>\n  ")),
                {"index.html": _bare_html(f"\n      <title>Chat</title>\n      {SCRIPT_TAG}\n  ")},
                findings=[("index.html", 3, 3, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")],
                name="a <head> with one tag indented deeper than the page's step: the script goes below it, aligned"),
        Invalid(vite_app("App", VITE_APP, html=_bare_html("\n  ")), {"index.html": _bare_html(f"\n    {SCRIPT_TAG}\n  ")},
                findings=[("index.html", 3, 3, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")],
                name="an empty <head>: the script one level deeper than </head>"),
        Invalid(vite_app("App", VITE_APP, html=HTML_HEAD_UNCLOSED),
                {"index.html": HTML_HEAD_UNCLOSED.replace("<head>", f"<head>{SCRIPT_TAG}")},
                findings=[("index.html", 3, 1, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")],
                name="</head> omitted: the script right after <head>"),
        Invalid(vite_app("App", VITE_APP, html=HTML_NO_HEAD), None,
                findings=[("index.html", 1, 1, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")],
                name="no <head> at all: reported at the top, nothing to edit"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "pages/_app.tsx": APP_BEFORE.replace("@RETURNED@", "    <Component {...pageProps} />\n"),
            "pages/index.tsx": PAGES_INDEX,
            "pages/help.tsx": PAGES_INDEX.replace("ChatPanel", "HelpChat"),
            "components/ChatPanel.tsx": CHAT_PANEL,
            "components/HelpChat.tsx": CHAT_PANEL.replace("ChatPanel", "HelpChat"),
        }, {
            "pages/_app.tsx": APP_BEFORE.replace('"next/app";\n', '"next/app";\nimport Script from "next/script";\n').replace(
                "@RETURNED@", f"    <>\n      {NEXT_SCRIPT}\n      <Component {{...pageProps}} />\n    </>\n"),
        }, findings=[("pages/_app.tsx", 5, 5, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")],
            name="_app returning one element on its own line, two pages rendering ChatKit"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "pages/_app.tsx": APP_BEFORE.replace(
                "@RETURNED@", '    <main className="app">\n      <Component {...pageProps} />\n    </main>\n'),
            "pages/index.tsx": PAGES_INDEX,
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, {
            "pages/_app.tsx": APP_BEFORE.replace('"next/app";\n', '"next/app";\nimport Script from "next/script";\n').replace(
                "@RETURNED@", f'    <main className="app">\n      {NEXT_SCRIPT}\n      <Component {{...pageProps}} />\n    </main>\n'),
        }, findings=[("pages/_app.tsx", 5, 5, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")],
            name="_app returning a wrapper element: the script is its first child"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "pages/_document.tsx": DOCUMENT.replace("      @HEAD@\n", ""),
            "pages/chat.tsx": PAGES_INDEX.replace("Home", "Chat"),
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, None, findings=[("pages/_document.tsx", 1, 1, "ChatKit is rendered (components/ChatPanel.tsx) " + "but no page loads chatkit.js")],
            name="_document without <Head>: reported, no place for the tag"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": "import type { ReactNode } from \"react\";\n\n"
                              "export default function RootLayout({ children }: { children: ReactNode }) {\n"
                              "  return <html lang=\"en\">{children}</html>;\n}\n",
            "app/page.tsx": NEXT_PAGE.replace("@/components/ChatPanel", "../components/ChatPanel"),
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, None, findings=[("app/layout.tsx", 1, 1, "ChatKit is rendered (components/ChatPanel.tsx) " + "but no page loads chatkit.js")],
            name="root layout without <body>: reported, no place for the tag"),
        Invalid(_docusaurus(DOCUSAURUS_JS.replace("@SCRIPTS@", "  scripts: [],\n")),
                {"docusaurus.config.js": DOCUSAURUS_JS.replace("@SCRIPTS@", f"  scripts: [{DOCUSAURUS_ENTRY}],\n")},
                findings=[("docusaurus.config.js", 8, 3, "ChatKit is rendered (src/components/ChatPanel.tsx)")],
                name="docusaurus: empty scripts"),
        Invalid(_docusaurus(DOCUSAURUS_JS.replace("@SCRIPTS@", '  scripts: ["/js/analytics.js"],\n')),
                {"docusaurus.config.js": DOCUSAURUS_JS.replace(
                    "@SCRIPTS@", f'  scripts: ["/js/analytics.js", {DOCUSAURUS_ENTRY}],\n')},
                findings=[("docusaurus.config.js", 8, 3, "ChatKit is rendered (src/components/ChatPanel.tsx)")],
                name="docusaurus: scripts on one line"),
        Invalid(_docusaurus('const SCRIPTS = ["/js/analytics.js"];\n\n' + DOCUSAURUS_JS.replace("@SCRIPTS@", "  scripts: SCRIPTS,\n")),
                None, findings=[("docusaurus.config.js", 10, 3, "ChatKit is rendered (src/components/ChatPanel.tsx)")],
                name="docusaurus: scripts from a variable is reported, not edited"),
        Invalid(_docusaurus('const themes = { light: {}, dark: {} };\n\n'
                            'module.exports = {\n  title: "Docs",\n  url: "https://example.com",\n};\n'),
                {"docusaurus.config.js": 'const themes = { light: {}, dark: {} };\n\n'
                                         f'module.exports = {{\n  scripts: [{DOCUSAURUS_ENTRY}],\n'
                                         '  title: "Docs",\n  url: "https://example.com",\n};\n'},
                findings=[("docusaurus.config.js", 3, 18, "ChatKit is rendered (src/components/ChatPanel.tsx)")],
                name="docusaurus: module.exports object after another object literal"),
        Invalid({"package.json": UNKNOWN_PACKAGE,
                 "src/main.tsx": vite_main("App").replace('import App from "./App";', 'import App from "./App";\nimport Help from "./Help";').replace(
                     "<App />", "<><App /><Help /></>"),
                 "src/App.tsx": VITE_APP, "src/Help.tsx": VITE_APP.replace("function App", "function Help")}, None,
                findings=[("src/App.tsx", 5, 10, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")],
                name="an unknown framework: reported at the first file's element, no page to edit"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": NEXT_PAGE.replace("@/components/ChatPanel", "../components/ChatPanel"),
            "components/ChatPanel.tsx": CHAT_PANEL,
            "public/embed.html": _index_html(f'    <script src="{CDN_URL}"></script>\n'),
        }, {"app/layout.tsx": LAYOUT_AFTER},
            findings=[("app/layout.tsx", 10, 7, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")],
            name="a static page in Next's public/ loading the script does not load it into the app"),
        Invalid(_apps(f'    <script src="{CDN_URL}"></script>\n', ""),
                {"apps/web/index.html": _index_html(f"    {SCRIPT_TAG}\n")},
                findings=[("apps/web/index.html", 3, 3, "ChatKit is rendered (apps/web/src/App.tsx)")],
                name="another app's script does not load it into this one"),
        Invalid(vite_app("App", 'import "./debug";\n' + VITE_APP, html=_index_html(""), **{"src/debug.ts": (
            'const TRIED = ["https://cdn.openai.com/chatkit/chatkit.js", "/vendor/chatkit.js"];\n\n'
            'console.info("chatkit.js candidates", TRIED);\n')}),
            {"index.html": _index_html(f"    {SCRIPT_TAG}\n")},
            findings=[("index.html", 3, 3, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")],
            name="chatkit.js URLs only logged load nothing"),
        Invalid({**_apps("", ""), "apps/docs/src/main.tsx": (
            f'const script = document.createElement("script");\nscript.src = "{CDN_URL}";\ndocument.head.append(script);\n')},
            {"apps/web/index.html": _index_html(f"    {SCRIPT_TAG}\n")},
            findings=[("apps/web/index.html", 3, 3, "ChatKit is rendered (apps/web/src/App.tsx)")],
            name="another app injecting the script does not load it into this one"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "app/(marketing)/layout.tsx": GROUP_LAYOUT,
            "app/(marketing)/page.tsx": "export default function Home() {\n  return <h1>Hi</h1>;\n}\n",
            "app/(support)/layout.tsx": GROUP_LAYOUT,
            "app/(support)/chat/page.tsx": DYNAMIC_PAGE,
        }, {
            "app/(support)/layout.tsx": GROUP_LAYOUT.replace('import type { ReactNode } from "react";',
                                                             'import type { ReactNode } from "react";\nimport Script from "next/script";').replace(
                "      <body>{children}</body>",
                f"      <body>\n        <Script src=\"{CDN_URL}\" strategy=\"afterInteractive\" />\n        {{children}}\n      </body>"),
        }, findings=[("app/(support)/layout.tsx", 6, 7, "ChatKit is rendered (app/(support)/chat/page.tsx) but no page loads chatkit.js")],
            name="the root layout of the chat's route group, not the first one"),
        Invalid({"package.json": WEBPACK_PACKAGE, "index.html": WEBPACK_HTML, "src/index.tsx": vite_main("App"), "src/App.tsx": VITE_APP},
                {"index.html": WEBPACK_HTML.replace("    <title>Chat</title>\n", f"    <title>Chat</title>\n    {SCRIPT_TAG}\n")},
                findings=[("index.html", 3, 3, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")],
                name="a webpack template: the root index.html without an entry script"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "pages/_document.tsx": DOCUMENT.replace("@HEAD@", "<Head />"),
            "pages/chat.tsx": PAGES_INDEX.replace("Home", "Chat"),
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, None, findings=[("pages/_document.tsx", 1, 1, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")],
            name="_document with an empty <Head />: reported, not edited"),
        Invalid(_docusaurus('module.exports = require("./docusaurus.base.js");\n'), None,
                findings=[("docusaurus.config.js", 1, 1, "ChatKit is rendered (src/components/ChatPanel.tsx)")],
                name="docusaurus: a config object the rule cannot see"),
        Invalid(_docusaurus(DOCUSAURUS_JS.replace("@SCRIPTS@", '  scripts: [\n    "/js/analytics.js",\n    "/js/consent.js",\n    // "/js/legacy.js",\n  ],\n')),
                {"docusaurus.config.js": DOCUSAURUS_JS.replace(
                    "@SCRIPTS@", f'  scripts: [\n    "/js/analytics.js",\n    "/js/consent.js",\n    {DOCUSAURUS_ENTRY},\n    // "/js/legacy.js",\n  ],\n')},
                findings=[("docusaurus.config.js", 8, 3, "ChatKit is rendered (src/components/ChatPanel.tsx)")],
                name="docusaurus: the entry after the last script, not after a comment"),
        Invalid(_docusaurus('import type { Config } from "@docusaurus/types";\n\n'
                            'export const TAGLINE = "Chat with the docs";\n\n'
                            'const config: Config = {\n  // the site\n  tagline: TAGLINE,\n  baseUrl: "/docs/",\n};\n\nexport default config;\n',
                            "docusaurus.config.ts"),
                {"docusaurus.config.ts": 'import type { Config } from "@docusaurus/types";\n\n'
                                        'export const TAGLINE = "Chat with the docs";\n\n'
                                        f'const config: Config = {{\n  // the site\n  scripts: [{DOCUSAURUS_ENTRY}],\n  tagline: TAGLINE,\n  baseUrl: "/docs/",\n}};\n\n'
                                        'export default config;\n'},
                findings=[("docusaurus.config.ts", 5, 24, "ChatKit is rendered (src/components/ChatPanel.tsx)")],
                name="docusaurus: the config object, not an exported string before it; its leading comment kept first"),
        Invalid(_docusaurus('const themes = { light: {}, dark: {} };\n\n'
                            'module.exports = {\n  ...require("./docusaurus.base.js"),\n  url: "https://docs.example.com",\n};\n'),
                None, findings=[("docusaurus.config.js", 3, 18, "ChatKit is rendered (src/components/ChatPanel.tsx)")],
                name="docusaurus: a config spreading a base is reported, not edited (the base's scripts would win or be lost)"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "pages/_app.tsx": 'export { default } from "@acme/ui/next-app";\n',
            "pages/index.tsx": PAGES_INDEX,
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, None, findings=[("pages/_app.tsx", 1, 1, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")],
            name="_app re-exported from a package: reported, nothing here to edit"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": "export default function Home() {\n  return <main>Hello</main>;\n}\n",
            "pages/_app.tsx": APP_BEFORE.replace("@RETURNED@", "    <Component {...pageProps} />\n"),
            "pages/chat.tsx": PAGES_INDEX.replace("Home", "Chat"),
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, {
            "pages/_app.tsx": APP_BEFORE.replace('"next/app";\n', '"next/app";\nimport Script from "next/script";\n').replace(
                "@RETURNED@", f"    <>\n      {NEXT_SCRIPT}\n      <Component {{...pageProps}} />\n    </>\n"),
        }, findings=[("pages/_app.tsx", 5, 5, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")],
            name="app and pages routers side by side, ChatKit on a pages route: _app, not the app router's layout"),
        Invalid(_apps(f'    <script src="{CDN_URL}"></script>\n', "") | {
            "apps/docs/src/main.tsx": vite_main("App"), "apps/docs/src/App.tsx": VITE_APP},
            {"apps/web/index.html": _index_html(f"    {SCRIPT_TAG}\n")},
            findings=[("apps/web/index.html", 3, 3, "ChatKit is rendered (apps/web/src/App.tsx)")],
            name="two apps rendering ChatKit, the first loading the script"),
        Invalid({"package.json": WEBPACK_PACKAGE, "index.html": WEBPACK_HTML, "src/index.tsx": vite_main("App"), "src/App.tsx": VITE_APP,
                 "docs/index.html": WEBPACK_HTML.replace("Chat", "Docs"), "offline.html": WEBPACK_HTML.replace("Chat", "Offline")},
                {"index.html": WEBPACK_HTML.replace("    <title>Chat</title>\n", f"    <title>Chat</title>\n    {SCRIPT_TAG}\n")},
                findings=[("index.html", 3, 3, "ChatKit is rendered (src/App.tsx) but no page loads chatkit.js")],
                name="a webpack template among other pages: the root index.html only"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "pages/_app.tsx": APP_WITH_SHELL,
            "pages/index.tsx": PAGES_INDEX,
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, {
            "pages/_app.tsx": APP_WITH_SHELL.replace('import type { ReactNode } from "react";\n',
                                                     'import type { ReactNode } from "react";\nimport Script from "next/script";\n').replace(
                "    <Shell>\n", f"    <Shell>\n      {NEXT_SCRIPT}\n"),
        }, findings=[("pages/_app.tsx", 8, 5, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")],
            name="_app with a layout component of its own: the script goes where App renders, not into the layout"),
        Invalid({
            "package.json": NEXT_PACKAGE,
            "app/layout.tsx": LAYOUT_BEFORE,
            "app/page.tsx": "export default function Home() {\n  return <main>Hello</main>;\n}\n",
            "pages/chat.tsx": PAGES_INDEX.replace("Home", "Chat"),
            "components/ChatPanel.tsx": CHAT_PANEL,
        }, None, findings=[("components/ChatPanel.tsx", 7, 10, "ChatKit is rendered (components/ChatPanel.tsx) but no page loads chatkit.js")],
            name="a pages route rendering ChatKit, no _app: reported at the element, the app router's layout left alone"),
    ],
)
