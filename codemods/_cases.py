"""What several rules' cases are built from: the small front-end projects of CK101-CK110 (a Vite app whose index.html
loads chatkit.js and renders one component from src/main.tsx, a Next.js app router app whose root layout loads it), the
official `respond()` of a ChatKit server, and `Edited`: an Invalid case written as its source and the few places its
fix changes, instead of the whole text twice.

Not a rule: `load_rules()` skips the modules of `codemods/` whose name starts with `_`.
"""

from __future__ import annotations

from dataclasses import replace

from chatkit_fix.rules import Case, FindingSpec, Invalid

# ---- front end -------------------------------------------------------------------------------------------------------

VITE_PACKAGE = '{"dependencies": {"@openai/chatkit-react": "1.6.1", "react": "19.3.1", "vite": "7.2.4"}}\n'
VITE_DEV_PACKAGE = '{"dependencies": {"@openai/chatkit-react": "1.6.1", "react": "19.3.1"}, "devDependencies": {"vite": "7.2.4"}}\n'
NEXT_PACKAGE = '{"dependencies": {"@openai/chatkit-react": "1.6.1", "next": "16.4.6", "react": "19.3.1"}}\n'

CDN_SCRIPT = '    <script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" async></script>\n'


def vite_html(head: str = CDN_SCRIPT, *, entry: str = "/src/main.tsx", start: str = "<!doctype html>\n<html>") -> str:
    """index.html of a Vite app: `head` (lines, indented) in <head>, the module `entry` in <body>."""
    return f"""{start}
  <head>
{head}  </head>
  <body>
    <div id="root"></div>
    <script type="module" src="{entry}"></script>
  </body>
</html>
"""


VITE_HTML = vite_html()


def vite_main(component: str, *, named: bool = False, props: str = "") -> str:
    """src/main.tsx rendering `<component props />`, imported from ./component (its default export unless `named`)."""
    imported = f"{{ {component} }}" if named else component
    element = f"<{component} {props} />" if props else f"<{component} />"
    return f"""import {{ createRoot }} from "react-dom/client";
import {imported} from "./{component}";

createRoot(document.getElementById("root")!).render({element});
"""


def vite_app(component: str, source: str, *, named: bool = False, props: str = "", package: str = VITE_PACKAGE,
             html: str = VITE_HTML, **extra: str) -> dict[str, str]:
    """A Vite app at the root whose src/main.tsx renders `component`, written in src/<component>.tsx as `source`."""
    return {"package.json": package, "index.html": html, "src/main.tsx": vite_main(component, named=named, props=props),
            f"src/{component}.tsx": source, **extra}


NEXT_LAYOUT = '''import Script from "next/script";
import type { ReactNode } from "react";

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" strategy="afterInteractive" />
        {children}
      </body>
    </html>
  );
}
'''


def next_page(component: str, module: str) -> str:
    """app/page.tsx rendering the default export of `module` as `<component />`."""
    return f'''import {component} from "{module}";

export default function Home() {{
  return <{component} />;
}}
'''


def next_panel(url: str) -> str:
    """components/ChatPanel.tsx of a Next app: a client component mounting <ChatKit> against `url`."""
    return f'''"use client";

import {{ ChatKit, useChatKit }} from "@openai/chatkit-react";

export default function ChatPanel() {{
  const {{ control }} = useChatKit({{ api: {{ url: "{url}", domainKey: "domain_pk_localhost_dev" }} }});
  return <ChatKit control={{control}} className="h-[600px] w-full" />;
}}
'''


# the front end of a back-end rule's case, in frontend/: it renders the `App` of frontend/src/App.tsx (the case adds it)
FRONTEND_SHELL = {
    "frontend/package.json": '{"dependencies": {"@openai/chatkit-react": "^1.6.1", "react": "^19.0.0"}}\n',
    "frontend/index.html": '<!doctype html><html><head>'
    '<script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" async></script></head>'
    '<body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n',
    "frontend/src/main.tsx": "import { createRoot } from 'react-dom/client';\nimport { App } from './App';\n\n"
    "createRoot(document.getElementById('root')!).render(<App />);\n",
}


def frontend_app(api: str) -> str:
    """frontend/src/App.tsx for FRONTEND_SHELL: `<ChatKit>` with the `api` options (an object literal's text)."""
    return (
        "import { ChatKit, useChatKit } from '@openai/chatkit-react';\n\n"
        "export function App() {\n"
        f"  const {{ control }} = useChatKit({{ api: {api} }});\n"
        "  return <ChatKit control={control} className='h-[600px]' />;\n"
        "}\n"
    )


# ---- server ----------------------------------------------------------------------------------------------------------

OFFICIAL_RESPOND = (
    "from agents import Runner\n"
    "from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response\n"
    "from chatkit.server import ChatKitServer\n\n\n"
    "class AgentServer(ChatKitServer[dict]):\n"
    "    async def respond(self, thread, input_user_message, context):\n"
    "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
    "        agent_input = await simple_to_agent_input(list(reversed(page.data)))\n"
    "        agent_ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
    "        result = Runner.run_streamed(agent, agent_input, context=agent_ctx)\n"
    "        async for event in stream_agent_response(agent_ctx, result):\n"
    "            yield event\n"
)


# ---- cases -----------------------------------------------------------------------------------------------------------


def edited(source: str, *edits: tuple[str, str]) -> str:
    """`source` with each (old, new) of `edits` replaced, in turn: the text a fix that changes a few places leaves.
    Each `old` must stand exactly once in the text it is replaced in."""
    for old, new in edits:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"{old!r} stands {count} times in the text to edit, not once")
        source = source.replace(old, new)
    return source


def Edited(source: str, *edits: tuple[str, str], filename: str = "app.py",  # noqa: N802
           findings: tuple[FindingSpec, ...] | list[FindingSpec] = (), unsafe: bool = False, name: str = "") -> Case:
    """An Invalid case whose expected result is `edited(source, *edits)`."""
    try:
        fixed = edited(source, *edits)
    except ValueError as error:
        raise ValueError(f"case {name or filename!r}: {error}") from None
    return Invalid(source, fixed, filename=filename, findings=findings, unsafe=unsafe, name=name)


def with_files(case: Case, files: dict[str, str]) -> Case:
    """`case` with `files` beside its own (a requirements file declaring the release a version-gated rule needs),
    unchanged by the fix."""
    return Case(files={**files, **case.files}, expected=case.expected, findings=case.findings, unsafe=case.unsafe,
                name=case.name)


def served(case: Case, entry: str, imports: str) -> Case:
    """`case` inside the FastAPI app it belongs to: `entry` is added, importing the case's module by `imports`.

    A settings or auth module imports nothing of the stack itself; it is checked because an application imports it
    (see chatkit_fix.scope), so its cases carry that application.
    """
    app = f"from fastapi import FastAPI\n\nimport {imports}\n\napp = FastAPI()\n"
    return replace(case, files={**case.files, entry: app})


def in_service(case: Case) -> Case:
    """`case` in a project with a `pyproject.toml`: a service, whose own `chatkit/` folder is the user's code rather
    than a copy of the SDK (see chatkit_fix.scope)."""
    return replace(case, files={"pyproject.toml": "[project]\nname = 'app'\n", **case.files})
