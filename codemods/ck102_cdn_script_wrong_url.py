"""A script tag loads chatkit.js from a near-miss URL, so the web component never loads.

## Why
The ChatKit web component is served from one place only:
`https://cdn.platform.openai.com/deployments/chatkit/chatkit.js`. `@openai/chatkit` on npm holds type definitions
and no JavaScript, so `cdn.jsdelivr.net/npm/@openai/chatkit…` and `unpkg.com/@openai/chatkit…` serve nothing that
defines `<openai-chatkit>`; guessed URLs such as `cdn.openai.com/chatkit/chatkit.js` or
`cdn.openai.com/chatkit/v1/chatkit.js` answer 404. The script fails to load (a network error at most), the custom
element is never defined and `<ChatKit>` stays blank.

The rule checks `<script src>` in HTML, `<Script>`/`<script>` in JSX, `document.createElement("script")` sources,
`import()`, Docusaurus `scripts` and constants used in those places, in code reachable from a page or entry
(a static page's inline scripts included). A URL that is not loaded there (a docs link, a candidate only logged) is
not a script.

## Wrong
```html
<script src="https://cdn.openai.com/chatkit/chatkit.js" async></script>
```

## Right
```html
<script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" async></script>
```
"""

from __future__ import annotations

from chatkit_fix.analysis.frontend import CDN_URL, check_frontend
from chatkit_fix.codemods._cases import (
    NEXT_PACKAGE,
    next_page,
    next_panel,
    vite_html,
    vite_main,
)
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK102",
    slug="cdn-script-wrong-url",
    safety=Safety.SAFE,
    summary="chatkit.js loaded from a near-miss URL (cdn.openai.com, jsdelivr/unpkg of @openai/chatkit)",
    url="https://github.com/openai/chatkit-js#quickstart",
    languages=("tsx", "html"),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)


@check_frontend(RULE)
def check(pctx, model):
    for ref in model.script_refs:
        if ref.verdict != "near-miss" or not ref.loads:
            continue
        ctx = pctx.parsed(ref.path)
        if ctx is None:
            continue
        # an entity-encoded URL (`&amp;` in HTML) is not written as it reads: reported, not rewritten
        written = ctx.text[ref.span[0]:ref.span[1]] == ref.url
        yield ctx.finding(
            ref.span,
            f"chatkit.js loaded from {ref.url}: nothing is served there that defines <openai-chatkit>, so ChatKit "
            "stays blank",
            fix=ctx.replace(ref.span, CDN_URL) if written else None,
            hint=f"use {CDN_URL}",
        )


PAGE = next_page("ChatPanel", "../components/ChatPanel")
PANEL = next_panel("/chatkit")
LAYOUT = """import Script from "next/script";
import type { ReactNode } from "react";

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <Script
          src="@URL@"
          strategy="beforeInteractive"
        />
      </head>
      <body>{children}</body>
    </html>
  );
}
"""
HTML = vite_html('    <title>Chat</title>\n    <script src="@URL@" async></script>\n',
                 start='<!DOCTYPE html>\n<html lang="en">')
MAIN = vite_main("ChatPanel")
INJECTED = """import { useEffect } from "react";
import { ChatKit, useChatKit } from "@openai/chatkit-react";

const CHATKIT_SCRIPT = '@URL@';

export default function ChatPanel() {
  useEffect(() => {
    const script = document.createElement("script");
    script.src = CHATKIT_SCRIPT;
    document.body.appendChild(script);
  }, []);
  const { control } = useChatKit({ api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev" } });
  return <ChatKit control={control} className="h-[600px] w-full" />;
}
"""
HELP_LINK = """export const HELP = { label: "ChatKit guide", link: "https://platform.openai.com/docs/guides/chatkit" };

export default function HelpLink() {
  return <a href={HELP.link}>{HELP.label}</a>;
}
"""
FALLBACKS = """const TRIED = ["https://cdn.openai.com/chatkit/latest/chatkit.js"];

export function report() {
  console.info("chatkit.js candidates", TRIED);
}
"""


def _fill(template: str, url: str) -> str:
    return template.replace("@URL@", url)


RULE.cases(
    valid=[
        Valid({"package.json": NEXT_PACKAGE, "app/layout.tsx": _fill(LAYOUT, CDN_URL), "app/page.tsx": PAGE,
               "components/ChatPanel.tsx": PANEL}, name="official URL in the layout"),
        Valid({"index.html": _fill(HTML, "https://cdn.jsdelivr.net/npm/marked/marked.min.js"),
               "src/main.tsx": MAIN, "src/ChatPanel.tsx": PANEL}, name="unrelated CDN script"),
        Valid({"package.json": NEXT_PACKAGE, "app/layout.tsx": _fill(LAYOUT, CDN_URL), "app/page.tsx": PAGE,
               "components/ChatPanel.tsx": PANEL,
               "components/Legacy.tsx": 'export const OLD_SRC = "https://cdn.openai.com/chatkit/chatkit.js";\n'},
              name="near miss in dead code"),
        Valid({"package.json": NEXT_PACKAGE, "app/layout.tsx": _fill(LAYOUT, CDN_URL), "app/page.tsx": PAGE,
               "components/ChatPanel.tsx": PANEL, "components/HelpLink.tsx": HELP_LINK},
              name="a docs link naming ChatKit is not a script"),
        Valid({"src/main.tsx": MAIN, "index.html": _fill(HTML, CDN_URL), "src/ChatPanel.tsx": PANEL,
               "src/loader.ts": FALLBACKS}, name="candidate URLs only logged"),
        Valid({"index.html": _fill(HTML, "/vendor/chatkit.js"), "src/main.tsx": MAIN, "src/ChatPanel.tsx": PANEL},
              name="a self-hosted copy is not a near miss"),
    ],
    invalid=[
        Invalid({"package.json": NEXT_PACKAGE, "app/layout.tsx": _fill(LAYOUT, "https://cdn.openai.com/chatkit/chatkit.js"),
                 "app/page.tsx": PAGE, "components/ChatPanel.tsx": PANEL},
                {"app/layout.tsx": _fill(LAYOUT, CDN_URL)}, findings=[("app/layout.tsx", 9, 16, "chatkit.js loaded from https://cdn.openai.com/chatkit/chatkit.js")], name="next/script in the root layout"),
        Invalid({"index.html": _fill(HTML, "https://cdn.jsdelivr.net/npm/@openai/chatkit@1.9.0/dist/chatkit.js"),
                 "src/main.tsx": MAIN, "src/ChatPanel.tsx": PANEL},
                {"index.html": _fill(HTML, CDN_URL)}, findings=[("index.html", 5, 18, "chatkit.js loaded from")], name="jsdelivr in index.html"),
        Invalid({"index.html": _fill(HTML, "https://cdn.openai.com/chatkit/v1/chatkit.js"),
                 "src/main.tsx": MAIN, "src/ChatPanel.tsx": PANEL},
                {"index.html": _fill(HTML, CDN_URL)}, findings=[("index.html", 5, 18, "chatkit.js loaded from https://cdn.openai.com/chatkit/v1/chatkit.js")], name="versioned guess"),
        Invalid({"src/main.tsx": MAIN, "index.html": _fill(HTML, "/vite.svg").replace(
                    '    <script src="/vite.svg" async></script>\n', ""),
                 "src/ChatPanel.tsx": _fill(INJECTED, "https://unpkg.com/@openai/chatkit/dist/index.js")},
                {"src/ChatPanel.tsx": _fill(INJECTED, CDN_URL)}, findings=[("src/ChatPanel.tsx", 4, 25, "chatkit.js loaded from https://unpkg.com/@openai/chatkit/dist/index.js")], name="createElement with a const"),
        Invalid({"src/main.tsx": MAIN, "index.html": _fill(HTML, CDN_URL),
                 "src/ChatPanel.tsx": _fill(INJECTED, "https://cdn.openai.com/chatkit/chatkit.js")},
                {"src/ChatPanel.tsx": _fill(INJECTED, CDN_URL)},
                findings=[("src/ChatPanel.tsx", 4, 25, "chatkit.js loaded from https://cdn.openai.com/chatkit/chatkit.js")],
                name="the official tag in index.html, a near miss injected by a component"),
        Invalid({"src/main.tsx": MAIN, "index.html": _fill(HTML, "https://cdn.openai.com/chatkit/chatkit.js"),
                 "src/ChatPanel.tsx": _fill(INJECTED, CDN_URL)},
                {"index.html": _fill(HTML, CDN_URL)},
                findings=[("index.html", 5, 18, "chatkit.js loaded from https://cdn.openai.com/chatkit/chatkit.js")],
                name="the official URL injected by a component, a near miss in index.html"),
        Invalid({"index.html": _fill(HTML, "https://cdn.openai.com/chatkit/chatkit.js?v=1&amp;lang=en"),
                 "src/main.tsx": MAIN, "src/ChatPanel.tsx": PANEL}, None,
                findings=[("index.html", 5, 18, "chatkit.js loaded from https://cdn.openai.com/chatkit/chatkit.js?v=1&lang=en")],
                name="an entity-encoded query: reported, not rewritten"),
    ],
)
