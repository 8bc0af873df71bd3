"""`chatkit-fix verify --browser --cdn-stub` on the front ends `chatkit-fix init` generates, Next.js and Vite.

Each framework's project is generated once, given the pinned node_modules (tests/browser/next-app, vite-app: `npm ci`
once per lockfile) and verified as generated: every check passes. Then each broken variant is the same project edited
the way users break it (the CDN script removed, ChatKit in a display:none container, headers spread, no api.fetch
while the back end wants a bearer token, a wrong endpoint path): verify must fail naming exactly the rule that
explains it, and pass again once `chatkit-fix apply` has fixed that rule. The project's files are restored between
variants, so the dev server's compile cache (.next, node_modules/.vite) is reused: one build per framework.

verify runs as a user runs it (the CLI in a child process, `--format json`), with Debian's chromium.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser import harness
from scaffold_support import chatkit_client as ck
from scaffold_support.projects import generate

from chatkit_fix.verify.processes import ServerProcess, child_env, free_port

pytestmark = pytest.mark.slow

VERIFY_TIMEOUT_SECONDS = 600
WIDGET = {"next": "frontend/components/ChatKitWidget.tsx", "vite": "frontend/src/ChatKitWidget.tsx"}
PAGE = {"next": "frontend/app/page.tsx", "vite": "frontend/src/main.tsx"}
# The user's own token getter, as a real project has one; `token-getter` in pyproject.toml points CK103's fix at it.
AUTH_TS = """export function getToken(): string | null {
  return typeof window === "undefined" ? null : window.localStorage.getItem("chatkit.accessToken");
}
"""
TOKEN_GETTER = {"next": ("frontend/lib/auth.ts", "@/lib/auth:getToken"), "vite": ("frontend/src/auth.ts",
                                                                                    "./auth:getToken")}
# What create-next-app writes (the "@/" alias is how the README's token-getter example imports).
NEXT_TSCONFIG = {
    "compilerOptions": {
        "target": "ES2017",
        "lib": ["dom", "dom.iterable", "esnext"],
        "allowJs": True,
        "skipLibCheck": True,
        "strict": True,
        "noEmit": True,
        "esModuleInterop": True,
        "module": "esnext",
        "moduleResolution": "bundler",
        "resolveJsonModule": True,
        "isolatedModules": True,
        "jsx": "react-jsx",
        "incremental": True,
        "plugins": [{"name": "next"}],
        "paths": {"@/*": ["./*"]},
    },
    "include": ["next-env.d.ts", "**/*.ts", "**/*.tsx", ".next/types/**/*.ts"],
    "exclude": ["node_modules"],
}
BROWSER_IDS = ("browser.frontend", "browser.page", "browser.script", "browser.mounted", "browser.visible",
               "browser.reply", "browser.reload", "browser.theme", "browser.token", "browser.headers", "browser.body",
               "browser.endpoint", "browser.cors", "browser.console")


@dataclass
class Project:
    framework: str
    root: Path

    def edit(self, relative: str, old: str, new: str, count: int = 1) -> None:
        path = self.root / relative
        text = path.read_text()
        assert text.count(old) == count, f"{relative}: expected {old!r} {count} time(s)"
        path.write_text(text.replace(old, new))


def run_cli(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chatkit_fix", *args, "--no-color", str(project)], cwd=project,
                          capture_output=True, text=True, check=False, timeout=timeout,
                          env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"})


def verify(project: Project, *extra: str) -> dict[str, Any]:
    done = run_cli(project.root, "verify", "--browser", "--cdn-stub", "--format", "json", *extra,
                   timeout=VERIFY_TIMEOUT_SECONDS)
    assert done.returncode in (0, 1), f"verify exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout)
    report["_stderr"] = done.stderr
    return report


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in report["checks"]}


def failures(report: dict[str, Any]) -> str:
    """The failed checks, for assertion messages (with the front end's log when it did not start)."""
    failed = [f"{c['id']}: {c['reason']} {c['rules']}" for c in report["checks"] if c["status"] == "fail"]
    logs = "\n".join(f"--- {name}\n{log[-1500:]}" for name, log in report.get("logs", {}).items() if name != "app")
    return "\n".join(failed) + ("\n" + logs if logs else "")


def assert_all_pass(report: dict[str, Any]) -> None:
    found = checks(report)
    assert report["exit_code"] == 0, failures(report)
    for check_id in BROWSER_IDS:
        assert found[check_id]["status"] == "pass", f"{check_id}: {found[check_id]}\n{failures(report)}"


def apply_rule(project: Project, code: str, *options: str) -> None:
    """`chatkit-fix apply` for one rule: it fixes a finding and leaves none of that rule (exit 0). Whether the rule
    fired statically is the rule suites' business; here verify before and after is the proof."""
    applied = run_cli(project.root, "apply", *options, "--select", code)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert re.search(r"Fixed [1-9]\d* finding", applied.stdout), f"{code}: nothing fixed\n{applied.stdout}"


# --- the projects -----------------------------------------------------------------------------------------------


def _generated(framework: str, workdir: Path) -> Iterator[Project]:
    try:
        harness.find_chromium()
        _, npm = harness.find_node()
        node_modules, _ = harness.installed_node_modules(npm, harness.PINNED_APPS[framework])
    except harness.Unavailable as exc:
        pytest.skip(str(exc))
    root = workdir / f"{framework}-app"
    generate(root, framework=framework, store="memory", auth="jwt", mcp=False)
    harness.prepare_frontend(root / "frontend", node_modules, harness.PINNED_APPS[framework])
    if framework == "next":
        (root / "frontend" / "tsconfig.json").write_text(json.dumps(NEXT_TSCONFIG, indent=2) + "\n")
    yield Project(framework, root)


@pytest.fixture(scope="module", params=["next", "vite"])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield from _generated(request.param, tmp_path_factory.mktemp("browser-verify"))


SKIPPED_FOLDERS = {"node_modules", ".next", "__pycache__"}


def source_files(root: Path) -> dict[Path, bytes]:
    """The project's own files and their bytes (not the installed packages nor the dev servers' caches)."""
    found = {}
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if name not in SKIPPED_FOLDERS]
        for name in files:
            path = Path(folder) / name
            found[path.relative_to(root)] = path.read_bytes()
    return found


@pytest.fixture
def project(generated: Project) -> Iterator[Project]:
    """The generated project, its sources restored after the test (the dev servers' caches are kept)."""
    keep = source_files(generated.root)
    yield generated
    for relative in set(source_files(generated.root)) - set(keep):
        (generated.root / relative).unlink()
    for relative, data in keep.items():
        path = generated.root / relative
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


# --- the generated front ends -----------------------------------------------------------------------------------


def test_generated_front_end_passes_every_browser_check(project: Project) -> None:
    shot = harness.artifacts_dir() / f"verify-browser-{project.framework}.png"
    shot.unlink(missing_ok=True)
    report = verify(project, "--screenshot", str(shot))
    assert_all_pass(report)
    found = checks(report)
    browser = report["browser"]
    env_name = {"next": "NEXT_PUBLIC_CHATKIT_API_URL", "vite": "VITE_CHATKIT_API_URL"}[project.framework]
    backend = report["app"]["url"]
    assert browser["api"].startswith(f"{env_name}={backend}/chatkit "), browser
    assert "localStorage 'chatkit.accessToken'" in browser["token"], browser
    assert browser["cdn"].startswith("stand-in"), browser
    assert "chromium" in browser["chromium"]
    assert "the stand-in: only the page's wiring is proven" in found["browser.script"]["reason"]
    assert found["browser.theme"]["reason"].startswith("the page and ChatKit turned dark together")
    assert shot.is_file() and shot.read_bytes().startswith(b"\x89PNG"), "no screenshot saved"


# --- broken variants, and `apply` ---------------------------------------------------------------------------------


def remove_cdn_script(project: Project) -> None:
    if project.framework == "next":
        layout = project.root / "frontend" / "app" / "layout.tsx"
        text = layout.read_text()
        broken = re.sub(r"\n *\{/\*[^\n]*\*/\}\n(?= *<Script )", "\n", text)
        broken = re.sub(r"\n *<Script [^\n]*/>", "", broken)
        broken = broken.replace('import Script from "next/script";\n', "")
        assert "<Script" not in broken and "next/script" not in broken and broken != text
        layout.write_text(broken)
    else:
        html = project.root / "frontend" / "index.html"
        text = html.read_text()
        broken = re.sub(r"\n *<!--[^\n]*<openai-chatkit>[^\n]*-->", "", text)
        broken = re.sub(r"\n *<script src=\"https://cdn[^\n]*</script>", "", broken)
        assert "chatkit.js" not in broken and broken != text
        html.write_text(broken)


def hide_in_container(project: Project) -> None:
    """The panel is always mounted and hidden with display:none while closed, and the page starts it closed."""
    project.edit(WIDGET[project.framework],
                 '{open && <ChatKit control={chatkit.control} style={{ height: 600, width: "100%" }} />}',
                 '<div style={{ display: open ? "block" : "none" }}>\n'
                 '        <ChatKit control={chatkit.control} style={{ height: 600, width: "100%" }} />\n'
                 '      </div>')
    project.edit(PAGE[project.framework], "<ChatKitWidget defaultOpen />", "<ChatKitWidget />")


def spread_headers(project: Project) -> None:
    project.edit(WIDGET[project.framework],
                 "    const headers = new Headers(init?.headers);\n"
                 "    const token = await getToken();\n"
                 "    if (token) {\n"
                 '      headers.set("Authorization", `Bearer ${token}`);\n'
                 "    }\n"
                 "    return fetch(input, { ...init, headers });\n",
                 "    const token = await getToken();\n"
                 "    return fetch(input, {\n"
                 "      ...init,\n"
                 "      headers: { ...init?.headers, Authorization: `Bearer ${token}` },\n"
                 "    });\n")


def remove_api_fetch(project: Project) -> None:
    """The widget without `api.fetch`, in a project that has its own token getter, declared for CK103's fix."""
    project.edit(WIDGET[project.framework], "      fetch: authenticatedFetch(getToken),\n", "")
    getter, spec = TOKEN_GETTER[project.framework]
    (project.root / getter).parent.mkdir(parents=True, exist_ok=True)
    (project.root / getter).write_text(AUTH_TS)
    (project.root / "pyproject.toml").write_text(f'[tool.chatkit-fix]\ntoken-getter = "{spec}"\n')


def wrong_endpoint_path(project: Project) -> None:
    project.edit(WIDGET[project.framework], '"http://localhost:8000/chatkit"', '"http://localhost:8000/api/chatkit"')


@dataclass
class Variant:
    name: str
    breaks: Callable[[Project], None]
    check_id: str
    rule: str
    apply_options: tuple[str, ...] = ()
    in_readme: bool = False  # the README shows this failure: its reason must be what verify says


VARIANTS = [
    Variant("script-removed", remove_cdn_script, "browser.script", "CK101"),
    Variant("hidden-container", hide_in_container, "browser.visible", "CK105"),
    Variant("spread-headers", spread_headers, "browser.headers", "CK104", in_readme=True),
    Variant("no-api-fetch", remove_api_fetch, "browser.token", "CK103", ("--unsafe-fixes",)),
    Variant("wrong-endpoint-path", wrong_endpoint_path, "browser.endpoint", "CK108", ("--unsafe-fixes",)),
]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_broken_front_end_fails_with_its_rule_and_passes_after_apply(project: Project, variant: Variant) -> None:
    variant.breaks(project)
    broken = verify(project)
    found = checks(broken)
    assert broken["exit_code"] == 1, failures(broken)
    assert found[variant.check_id]["status"] == "fail", f"{variant.check_id}: {found[variant.check_id]}"
    assert found[variant.check_id]["rules"] == [variant.rule], found[variant.check_id]
    named = {rule for check in broken["checks"] if check["status"] == "fail" for rule in check["rules"]}
    assert named == {variant.rule}, f"other rules named:\n{failures(broken)}"
    back_end = [c for c in broken["checks"] if not c["id"].startswith("browser.") and c["status"] == "fail"]
    assert back_end == [], "the back end is not what is broken here"
    if variant.in_readme:
        readme = (Path(__file__).parents[1] / "README.md").read_text()
        assert found[variant.check_id]["reason"] in readme, "the README's example failure is not what verify says"

    apply_rule(project, variant.rule, *variant.apply_options)
    assert_all_pass(verify(project))


@pytest.mark.parametrize("generated", ["vite"], indirect=True)
def test_running_front_end_with_its_own_api_origin_and_a_given_token(project: Project) -> None:
    """--frontend-url: a dev server started without the API variable calls its fallback http://localhost:8000;
    verify rewrites that origin to its own back end in the browser, and --token is the token the page gets."""
    frontend = project.root / "frontend"
    port = free_port()
    server = ServerProcess(argv=[str(frontend / "node_modules" / ".bin" / "vite"), "--port", str(port), "--strictPort",
                                 "--host", "127.0.0.1"],
                           cwd=frontend, env=child_env({}), port=port, name="vite",
                           log_path=frontend / "vite-dev.log")
    server.start(timeout=60)
    try:
        token = ck.token("frank")
        report = verify(project, "--frontend-url", server.url + "/", "--jwt-secret", ck.TEST_JWT_SECRET,
                        "--token", token)
    finally:
        server.stop()
    assert_all_pass(report)
    browser = report["browser"]
    assert browser["api"] == f"requests to http://localhost:8000 are rewritten to {report['app']['url']} in the browser"
    assert browser["token"].startswith("--token, put in localStorage 'chatkit.accessToken'"), browser
    assert "command" not in browser, "verify started a front end of its own"
    assert checks(report)["browser.frontend"]["reason"].startswith(f"{server.url}/ (--frontend-url)")


def test_browser_options_need_browser(tmp_path: Path) -> None:
    """--browser options without --browser are refused before anything starts."""
    generate(tmp_path / "app", framework="vite", store="memory", auth="jwt", mcp=False)
    done = run_cli(tmp_path / "app", "verify", "--cdn-stub", "--page", "/chat")
    assert done.returncode == 2
    assert "--page, --cdn-stub only apply with --browser" in done.stderr


def test_missing_node_modules_is_named(tmp_path: Path) -> None:
    try:
        harness.find_node()
        harness.find_chromium()
    except harness.Unavailable as exc:
        pytest.skip(str(exc))
    generate(tmp_path, framework="vite", store="memory", auth="jwt", mcp=False)
    report = json.loads(run_cli(tmp_path, "verify", "--browser", "--cdn-stub", "--format", "json").stdout)
    frontend = checks(report)["browser.frontend"]
    assert frontend["status"] == "fail", frontend
    assert "frontend has no node_modules: run `npm install` there first" in frontend["reason"]
    assert all(checks(report)[check_id]["status"] == "skip" for check_id in BROWSER_IDS[1:])
    assert report["exit_code"] == 1
