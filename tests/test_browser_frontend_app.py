"""What `verify --browser` reads from a front end before it starts anything (chatkit_fix/verify/frontend_app.py): the
framework and package manager, the pages that mount ChatKit, the variable `api.url` is built from, and where the token
getter reads the token. Small projects written here; no Node, no browser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatkit_fix.analysis.frontend import frontend_model
from chatkit_fix.verify.browser import _project
from chatkit_fix.verify.frontend_app import FrontendApp, FrontendNotFound, find_frontend

NEXT_PACKAGE = {"name": "shop", "private": True, "scripts": {"dev": "next dev", "start": "next start"},
                "dependencies": {"next": "16.0.0", "react": "19.0.0", "@openai/chatkit-react": "1.6.1"}}
VITE_PACKAGE = {"name": "desk", "private": True, "type": "module", "scripts": {"dev": "vite", "preview": "vite preview"},
                "dependencies": {"react": "19.0.0", "@openai/chatkit-react": "1.6.1", "js-cookie": "3.0.5"},
                "devDependencies": {"vite": "7.0.0"}}


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def read_app(root: Path) -> FrontendApp:
    return find_frontend(frontend_model(_project(root)))


def widget(api: str, prelude: str = "") -> str:
    return f'''"use client";
import {{ ChatKit, useChatKit }} from "@openai/chatkit-react";
{prelude}
export default function Chat() {{
  const {{ control }} = useChatKit({{
    api: {{
{api}
    }},
  }});
  return <ChatKit control={{control}} className="h-[600px]" />;
}}
'''


MERGING_FETCH = """      fetch: async (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set("Authorization", `Bearer ${readToken()}`);
        return fetch(input, { ...init, headers });
      },"""


def test_next_app_env_url_with_a_suffix_and_a_session_storage_token(tmp_path: Path) -> None:
    write(tmp_path, {
        "package.json": json.dumps(NEXT_PACKAGE),
        "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
        "app/page.tsx": 'import Chat from "../components/Chat";\nexport default function Page() { return <Chat />; }\n',
        "app/(help)/support/page.tsx": 'import Chat from "../../../components/Chat";\n'
                                       'export default function Support() { return <Chat />; }\n',
        "app/orders/[id]/page.tsx": 'import Chat from "../../../components/Chat";\n'
                                    'export default function Order() { return <Chat />; }\n',
        "lib/auth.ts": 'const SESSION_KEY = "acme.session";\n'
                       "export function readToken(): string | null {\n"
                       "  return window.sessionStorage.getItem(SESSION_KEY);\n}\n",
        "components/Chat.tsx": widget('      url: `${BASE}/api/chatkit`,\n      domainKey: "domain_pk_x",\n'
                                      + MERGING_FETCH,
                                      'import { readToken } from "../lib/auth";\n'
                                      'const BASE = process.env.NEXT_PUBLIC_API_BASE ?? "http://localhost:8000";'),
    })
    app = read_app(tmp_path)
    assert (app.framework, app.package_manager) == ("next", "pnpm")
    assert app.pages == ["/", "/support"] and app.dynamic_pages == ["/orders/[id]"]
    assert app.api is not None
    assert (app.api.env_name, app.api.env_object, app.api.suffix) == ("NEXT_PUBLIC_API_BASE", "process.env",
                                                                      "/api/chatkit")
    assert app.api.fallback == "http://localhost:8000/api/chatkit" and app.api.literal is None
    assert app.custom_fetch
    assert app.token is not None
    assert (app.token.storage, app.token.key, app.token.where) == ("sessionStorage", "acme.session", "lib/auth.ts:3")


def test_env_value_comes_from_the_environment_then_the_framework_s_env_files(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "package.json": json.dumps(NEXT_PACKAGE),
        "app/page.tsx": widget('      url: process.env.NEXT_PUBLIC_CHATKIT_URL ?? "/api/chatkit",\n'
                               '      domainKey: "domain_pk_x",'),
        ".env": "NEXT_PUBLIC_CHATKIT_URL=http://from-env-file/chatkit\n",
        ".env.local": "# local\nexport NEXT_PUBLIC_CHATKIT_URL='http://from-env-local/chatkit'\n",
    })
    monkeypatch.delenv("NEXT_PUBLIC_CHATKIT_URL", raising=False)
    app = read_app(tmp_path)
    assert app.api is not None and app.api.env_name == "NEXT_PUBLIC_CHATKIT_URL" and app.api.suffix == ""
    assert app.api.configured_value(tmp_path, "next") == ("http://from-env-local/chatkit", ".env.local")
    monkeypatch.setenv("NEXT_PUBLIC_CHATKIT_URL", "http://from-process/chatkit")
    assert app.api.configured_value(tmp_path, "next") == ("http://from-process/chatkit", "the environment")
    assert not app.custom_fetch
    assert app.token is None and app.token_note == "no api.fetch: ChatKit's requests carry no token"


@pytest.mark.parametrize(("getter", "storage", "key"), [
    ('import Cookies from "js-cookie";\nconst readToken = () => Cookies.get("desk_token") ?? null;', "cookie",
     "desk_token"),
    ("function readToken() {\n"
     "  const row = document.cookie.split('; ').find((part) => part.startsWith('desk_jwt='));\n"
     "  return row ? row.split('=')[1] : null;\n}", "cookie", "desk_jwt"),
    ('const readToken = () => localStorage.getItem(`desk.${"token"}`);', "localStorage", "desk.token"),
])
def test_vite_app_literal_url_and_where_its_token_getter_reads(tmp_path: Path, getter: str, storage: str,
                                                              key: str) -> None:
    write(tmp_path, {
        "package.json": json.dumps(VITE_PACKAGE),
        "yarn.lock": "# yarn lockfile v1\n",
        "index.html": '<div id="root"></div><script type="module" src="/src/main.tsx"></script>\n',
        "src/main.tsx": 'import { createRoot } from "react-dom/client";\nimport Chat from "./Chat";\n'
                        'createRoot(document.getElementById("root")!).render(<Chat />);\n',
        "src/Chat.tsx": widget('      url: "http://localhost:8000/chatkit",\n      domainKey: "domain_pk_x",\n'
                               + MERGING_FETCH, getter),
    })
    app = read_app(tmp_path)
    assert (app.framework, app.package_manager, app.pages) == ("vite", "yarn", ["/"])
    assert app.api is not None and app.api.literal == "http://localhost:8000/chatkit" and app.api.env_name is None
    assert app.token is not None and (app.token.storage, app.token.key) == (storage, key)


def test_token_getter_reading_no_known_place_says_what_to_pass(tmp_path: Path) -> None:
    write(tmp_path, {
        "package.json": json.dumps(NEXT_PACKAGE),
        "app/page.tsx": widget('      url: "/api/chatkit",\n      domainKey: "domain_pk_x",\n' + MERGING_FETCH,
                               'import { getSession } from "next-auth/react";\n'
                               "const readToken = async () => (await getSession())?.accessToken;"),
    })
    app = read_app(tmp_path)
    assert app.custom_fetch and app.token is None
    assert "pass --token-key, or --storage-state" in app.token_note


def test_no_page_renders_chatkit(tmp_path: Path) -> None:
    write(tmp_path, {
        "package.json": json.dumps(NEXT_PACKAGE),
        "app/page.tsx": "export default function Page() { return <main>shop</main>; }\n",
    })
    with pytest.raises(FrontendNotFound, match="no page renders <ChatKit>"):
        read_app(tmp_path)
