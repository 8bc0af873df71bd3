"""`chatkit-fix verify` booting real back ends: it passes on every `init` output, fails on each broken fixture back
end with the rule that explains it, passes once `chatkit-fix apply` has fixed it, writes nothing into the project, and
leaves no server behind when it is interrupted.

The fixtures: tests/projects/boot/* (one broken pattern each, with `_shared/store.py`), boot_store, boot_auth, and
tests/projects/verify/* (CK403, CK405, CK407, CK308: the failures only a running back end shows, with
`_shared/echo.py`, a responder that needs no model, and the boot fixtures' `_shared/store.py`).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from matrix import python_for
from scaffold_support.projects import generate, snapshot

from chatkit_fix.verify.checks import CATALOGUE
from chatkit_fix.verify.command import CommandOptions, run

pytestmark = pytest.mark.slow

PROJECTS = Path(__file__).resolve().parent / "projects"
BOOT = PROJECTS / "boot"
VERIFY = PROJECTS / "verify"
TIMEOUT = 90.0


def verify(project: Path, **options) -> dict:
    """`chatkit-fix verify --format json PROJECT`, in this process; the JSON report (exit code included)."""
    out: list[str] = []
    errors: list[str] = []
    code = run(CommandOptions(path=project, output_format="json", timeout=TIMEOUT, **options), echo=out.append,
               echo_err=errors.append)
    assert out, f"no report (exit {code}): {errors}"
    report = json.loads("".join(out))
    assert report["exit_code"] == code
    return report


def failures(report: dict) -> dict[str, list[str]]:
    return {check["id"]: check["rules"] for check in report["checks"] if check["status"] == "fail"}


def failed_rules(report: dict) -> set[str]:
    return {code for rules in failures(report).values() for code in rules}


def explain(report: dict) -> str:
    lines = [f"{c['status']:4} {c['id']}: {c['reason']} {c['rules']}" for c in report["checks"]]
    for check in report["checks"]:
        if check.get("log"):
            lines += [f"--- log of {check['id']} ---", check["log"]]
    return "\n".join(lines)


def status(report: dict, check_id: str) -> str:
    return next(c["status"] for c in report["checks"] if c["id"] == check_id)


def apply(project: Path, *options: str) -> str:
    applied = subprocess.run([sys.executable, "-m", "chatkit_fix", "apply", "--no-color", *options, str(project)],
                             cwd=project, capture_output=True, text=True, timeout=180)
    assert applied.returncode in (0, 1), applied.stdout + applied.stderr
    return applied.stdout


# ---- init outputs -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_jwt(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("init-sqlite-jwt")
    generate(target, framework="next", store="sqlite", auth="jwt")
    return target


@pytest.fixture(scope="module")
def memory_none(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("init-memory-none")
    generate(target, framework="vite", store="memory", auth="none")
    return target


def test_init_sqlite_jwt_passes_every_check_through_the_cli(sqlite_jwt: Path):
    before = snapshot(sqlite_jwt)
    secret = "a-secret-given-on-the-command-line-0123456789"
    command = [sys.executable, "-m", "chatkit_fix", "verify", "--format", "json", "--jwt-secret", secret,
               "--python", sys.executable, str(sqlite_jwt)]
    completed = subprocess.run(command, cwd=sqlite_jwt, capture_output=True, text=True, timeout=300)
    report = json.loads(completed.stdout)
    assert completed.returncode == 0, explain(report) + completed.stderr
    assert [c["id"] for c in report["checks"]] == list(CATALOGUE)
    assert {c["status"] for c in report["checks"]} == {"pass"}, explain(report)
    # the JSON shape (docs in chatkit_fix/verify/report.py)
    assert report["version"] == 1 and report["exit_code"] == 0 and report["project"] == str(sqlite_jwt.resolve())
    assert report["app"] | {"url": None} == {"import": "backend.main:app", "cwd": ".", "source": "detected",
                                            "file": "backend/main.py", "url": None, "endpoint": "/chatkit"}
    assert report["app"]["url"].startswith("http://127.0.0.1:")
    assert report["mcp"]["import"] == "backend.mcp_tools:app" and report["mcp"]["url_env"] == ["CHATKIT_MCP_URL"]
    assert report["mcp"]["url"].startswith("http://127.0.0.1:") and report["mcp"]["url"].endswith("/mcp")
    assert report["auth"]["mode"] == "bearer"
    assert report["auth"]["secret"].startswith("--jwt-secret, set as CHATKIT_JWT_SECRET (jwt.decode at ")
    assert secret not in completed.stdout + completed.stderr, "the secret was printed"
    assert report["origin"]["origin"] == "http://localhost:3000"
    assert report["fake_openai"].startswith("http://127.0.0.1:") and report["python"] == sys.executable
    assert report["summary"]["passed"] == len(CATALOGUE) and report["summary"]["failed"] == 0
    assert report["rules"] == {} and report["logs"] == {} and report["log_dir"] is None
    for check in report["checks"]:
        assert set(check) == {"id", "title", "status", "reason", "rules", "seconds"}
        assert isinstance(check["seconds"], float) and check["reason"]
    assert any("CHATKIT_SQLITE_PATH pointed at a scratch folder" in note for note in report["notes"])
    assert snapshot(sqlite_jwt) == before, "verify wrote into the project"


def test_init_memory_without_auth_passes_and_says_what_it_skipped(memory_none: Path, tmp_path: Path):
    before = snapshot(memory_none)
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"reply": "Custom: {last_user_text}", "after_tool_reply": "Custom tool: {tool_output}"}))
    report = verify(memory_none, fake_script=script)
    assert report["exit_code"] == 0, explain(report)
    create = next(c for c in report["checks"] if c["id"] == "threads.create")
    assert "Custom tool: Saved note 1 for demo-user" in create["reason"]
    skipped = {c["id"]: c["reason"] for c in report["checks"] if c["status"] == "skip"}
    assert skipped.keys() == {"auth.no_token", "auth.bad_token", "auth.valid_token", "auth.isolation", "persistence"}
    assert skipped["persistence"].startswith("the store keeps threads in process memory (backend/")
    assert "lost on restart by design (CK308" in skipped["persistence"]
    assert "no authentication" in skipped["auth.no_token"]
    assert status(report, "tools") == "pass" and "add_note" in next(
        c["reason"] for c in report["checks"] if c["id"] == "tools")
    assert report["origin"]["origin"] == "http://localhost:5173"  # Vite's default port: the template sets none
    assert snapshot(memory_none) == before, "verify wrote into the project"


def test_attachments_of_another_user_fail_the_attachment_check(tmp_path: Path):
    """The generated SQLite store with its attachment lookup no longer scoped to the user: verify's `attachments`
    check must catch user B using user A's file (and say so), while every other check still passes."""
    generate(tmp_path, framework="none", store="sqlite", auth="jwt")
    store = tmp_path / "backend" / "chatkit_store.py"
    scoped = "SELECT data FROM user_attachments WHERE user_id = ? AND id = ?\",\n            (user_of(context), attachment_id),"
    source = store.read_text()
    assert scoped in source
    store.write_text(source.replace(scoped, "SELECT data FROM user_attachments WHERE id = ?\",\n            (attachment_id,),"))
    report = verify(tmp_path, jwt_secret=secrets_token())
    assert failures(report).keys() == {"attachments"}, explain(report)
    reason = next(c["reason"] for c in report["checks"] if c["id"] == "attachments")
    assert "user B sent a message carrying user A's attachment" in reason


def test_a_server_without_attachment_store_skips_the_attachment_check(tmp_path: Path):
    project = copy_project("verify/cors_order", tmp_path)
    apply(project)
    report = verify(project)
    assert status(report, "attachments") == "skip", explain(report)
    assert "attachments.create answered HTTP 500" in next(c["reason"] for c in report["checks"]
                                                         if c["id"] == "attachments")


def secrets_token() -> str:
    import secrets

    return secrets.token_urlsafe(48)


# ---- broken back ends -------------------------------------------------------------------------------------------

# folder -> (rules verify must name before the fix, `apply` options, rules allowed to remain after it)
# boot/ck202_request_content_type is left out on purpose: its back end is correct and its broken part is the smoke
# requests in requests/*.json, which verify does not send (it builds valid requests itself).
CASES: dict[str, tuple[set[str], tuple[str, ...], set[str]]] = {
    "boot/ck201_endpoint_response": ({"CK201"}, (), set()),
    "boot/ck203_respond_not_generator": ({"CK203"}, (), set()),
    "boot/ck204_run_streamed_misuse": ({"CK204"}, (), set()),
    "boot/ck205_run_streamed_no_context": ({"CK205"}, (), set()),
    "boot/ck209_fake_id_collision": ({"CK209"}, (), set()),
    "boot/ck215_chatcmpl_history_content": ({"CK215"}, (), set()),
    "boot/ck502_mcp_lifetime": ({"CK502"}, (), set()),
    # its store ignores the user as well: CK306 has no automatic fix, and `check` reports it too after the fix
    "boot_auth": ({"CK403"}, ("--unsafe-fixes",), {"CK306"}),
    "verify/auth_anonymous": ({"CK403"}, ("--unsafe-fixes",), set()),
    "verify/cors_wildcard": ({"CK405"}, ("--unsafe-fixes",), set()),
    "verify/cors_order": ({"CK407"}, (), set()),
}
NOT_VERIFIED = {"boot/ck202_request_content_type"}


def copy_project(name: str, tmp_path: Path) -> Path:
    source = PROJECTS / name
    target = tmp_path / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    # boot/*, boot_auth and verify/* share one store module, copied in at test time (as test_boot_auth.py does);
    # verify/* also get their own `_shared` (the echo responder)
    shared = [BOOT / "_shared"] if name == "boot_auth" else [source.parent / "_shared", BOOT / "_shared"]
    for folder in shared:
        if folder.is_dir() and folder.parent != PROJECTS:
            for path in folder.glob("*.py"):
                if not (target / path.name).exists():
                    shutil.copy(path, target / path.name)
    return target


def test_every_boot_fixture_is_covered():
    folders = {f"boot/{p.name}" for p in BOOT.iterdir() if p.is_dir() and not p.name.startswith("_")}
    folders |= {f"verify/{p.name}" for p in VERIFY.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert folders - set(CASES) - NOT_VERIFIED == {"verify/lost_on_restart"}


# fixtures whose bug lives in some releases only: verified in an environment holding the releases they pin
PINNED = {"boot/ck215_chatcmpl_history_content"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_backend_fails_with_its_rule_then_passes_after_apply(name: str, tmp_path: Path):
    expected, options, remaining = CASES[name]
    project = copy_project(name, tmp_path)
    python = {"python": str(python_for(project))} if name in PINNED else {}
    before = verify(project, **python)
    assert before["exit_code"] == 1, explain(before)
    assert expected <= failed_rules(before), explain(before)
    apply(project, *options)
    after = verify(project, **python)
    assert failed_rules(after) == remaining, explain(after)
    assert after["exit_code"] == (1 if remaining else 0)


def test_ck502_names_the_mcp_server_and_the_variable_it_was_given(tmp_path: Path):
    project = copy_project("boot/ck502_mcp_lifetime", tmp_path)
    apply(project)
    report = verify(project)
    assert report["exit_code"] == 0, explain(report)
    assert report["mcp"]["url_env"] == ["MCP_URL"] and report["mcp"]["url_env_source"] == "the URL of the MCP client at main.py:16"
    tools = next(c for c in report["checks"] if c["id"] == "tools")
    assert tools["status"] == "pass" and "get_weather" in tools["reason"] and "It is sunny" in tools["reason"]


def test_store_failures_map_to_the_store_rules(tmp_path: Path):
    project = copy_project("boot_store", tmp_path)
    report = verify(project)
    assert failures(report) == {"app.start": ["CK301"]}, explain(report)
    assert "Can't instantiate abstract class" in report["checks"][1]["reason"]
    apply(project, "--select", "CK301")
    report = verify(project)
    found = failures(report)
    assert found["threads.create"] == ["CK302"] and found["threads.get_by_id"] == ["CK302"], explain(report)
    assert found["items.list"] == ["CK303"], explain(report)
    apply(project)
    report = verify(project)
    assert report["exit_code"] == 0, explain(report)


def test_a_store_that_loses_threads_on_restart_is_ck308(tmp_path: Path):
    project = copy_project("verify/lost_on_restart", tmp_path)
    report = verify(project)
    assert failures(report) == {"persistence": ["CK308"]}, explain(report)


def test_text_report_shows_the_failure_its_rule_and_the_server_log(tmp_path: Path):
    project = copy_project("boot/ck203_respond_not_generator", tmp_path)
    completed = subprocess.run([sys.executable, "-m", "chatkit_fix", "verify", "--no-color", str(project)],
                               cwd=project, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    out = completed.stdout
    assert "FAIL  threads.create" in out and "[CK203]" in out
    assert "CK203  respond-not-generator:" in out
    assert "--- server log during threads.create" in out and "Traceback" in out
    assert re.search(r"SKIP  persistence +the store keeps threads in process memory \(store.py:\d+: InMemoryStore\)", out), out


# ---- interruption -----------------------------------------------------------------------------------------------


def processes_under(folder: Path) -> list[str]:
    """Live processes whose working directory or command line is inside `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cwd = os.readlink(entry / "cwd")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if state != "Z" and (cwd.startswith(str(folder)) or str(folder) in command):
            found.append(f"{entry.name} {state} cwd={cwd} {command}")
    return found


def wait_for_line(process: subprocess.Popen, marker: str, timeout: float) -> list[str]:
    """Read stderr lines until one contains `marker`."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 0.2)
        if ready:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if marker in line:
                return lines
    raise AssertionError(f"no {marker!r} on stderr within {timeout}s:\n{''.join(lines)}")


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc to look for orphans")
@pytest.mark.parametrize(("signum", "after"), [(signal.SIGINT, "PASS  app.start"), (signal.SIGTERM, "PASS  mcp.start")])
def test_interrupted_run_leaves_no_server_behind(memory_none: Path, tmp_path: Path, signum: int, after: str):
    project = tmp_path / "project"
    shutil.copytree(memory_none, project)
    process = subprocess.Popen([sys.executable, "-m", "chatkit_fix", "verify", "-v", str(project)], cwd=project,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_line(process, after, timeout=120)
        servers = [p for p in processes_under(project) if "uvicorn" in p]
        assert servers, "the servers were not running when the signal was sent"
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # 2 is verify's "interrupted" code; a Ctrl-C that lands again while the interpreter shuts down ends it by SIGINT,
    # which shells read the same way. Either way the clean-up below must be complete.
    assert process.returncode in ((2, -signal.SIGINT) if signum == signal.SIGINT else (2,)), err
    assert "every server it started has been stopped" in err
    deadline = time.monotonic() + 10
    while processes_under(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_under(project) == [], "orphans left behind"
