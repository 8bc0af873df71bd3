"""Every fix is proven before it is written: the module still parses, compiles and defines every name it did, and
the imports a fix needs are placed by libcst where the file keeps its imports, in the file's own bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatkit_fix.cache import FOLDER
from chatkit_fix.cli import main
from chatkit_fix.edits import apply_edits
from chatkit_fix.findings import ImportChange, Safety
from chatkit_fix.imports import apply_import_changes, minimal_edits
from chatkit_fix.rules import REGISTRY, load_rules, rule

CRLF_STORE = (
    b"from chatkit.store import Store\r\n\r\n\r\nclass MyStore(Store):\r\n"
    b"    async def load_thread(self, thread_id, context):\r\n        raise KeyError(thread_id)\r\n"
)


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def imports_cleanly(folder: Path, module: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", f"import {module}"], cwd=folder, capture_output=True, text=True)


def test_ck301_stubs_on_a_crlf_file_import_every_name_they_use(tmp_path):
    """Issue 22's repro: the stubs are typed Page, ThreadItem and Attachment; every one is imported, CRLF kept."""
    (tmp_path / "s.py").write_bytes(CRLF_STORE)
    cli("apply", str(tmp_path))
    data = (tmp_path / "s.py").read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b""), "a line ending other than CRLF was written"
    first_lines = data.split(b"\r\n")[:2]
    assert first_lines == [b"from chatkit.store import Store, NotFoundError",
                           b"from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata"]
    imported = imports_cleanly(tmp_path, "s")
    assert imported.returncode == 0, imported.stderr


@pytest.fixture
def scratch_rule():
    """Register a rule for one test and remove it again, so the registry stays the catalogue."""
    load_rules()
    created = []

    def make(code: str, fix):
        made = rule(code=code, slug=f"scratch-{code.lower()}", safety=Safety.SAFE, summary="scratch",
                    url="https://example.invalid", triggers=(b"scratch",), module=f"tests.scratch.{code}",
                    anywhere=(b"scratch",))

        @made.check
        def check(ctx):
            yield ctx.finding(1, "scratch finding", fix=fix(ctx))

        created.append(code)
        return made

    yield make
    for code in created:
        REGISTRY.pop(code, None)


def test_fix_that_parses_but_does_not_compile_is_dropped(tmp_path, scratch_rule):
    """ast.parse accepts `def f(context, context)`; compile() does not, and neither does the import."""
    original = "scratch = 1\n\n\ndef handler(self, context):\n    return context\n"
    scratch_rule("CK995", lambda ctx: [ctx.replace((ctx.text.index("self"), ctx.text.index("self") + 4), "context")])
    (tmp_path / "m.py").write_text(original)
    result = cli("apply", "--select", "CK995", str(tmp_path))
    assert result.exit_code == 2
    assert ("m.py:1: internal error in CK995: its fix would not compile (duplicate argument 'context' in function "
            "definition, line 4); fix dropped") in result.output
    assert (tmp_path / "m.py").read_text() == original


def test_fix_that_leaves_a_name_undefined_is_dropped(tmp_path, scratch_rule):
    original = "import os\n\nscratch = os.sep\n"
    scratch_rule("CK994", lambda ctx: [ctx.delete_lines(1)])
    (tmp_path / "m.py").write_text(original)
    result = cli("apply", "--select", "CK994", str(tmp_path))
    assert result.exit_code == 2
    assert "internal error in CK994: its fix would leave os undefined; fix dropped" in result.output
    assert (tmp_path / "m.py").read_text() == original


def test_names_undefined_before_the_fix_do_not_count_against_it(tmp_path, scratch_rule):
    """A module that already uses an undefined name (a star import's, a builtin pyflakes does not know) is not the
    fix's doing: only names the fix leaves undefined are."""
    scratch_rule("CK993", lambda ctx: None if "again" in ctx.text else [ctx.insert(len(ctx.text), "again = scratch\n")])
    (tmp_path / "m.py").write_text("scratch = missing_name\n")
    result = cli("apply", "--select", "CK993", str(tmp_path))
    assert "internal error" not in result.output
    assert (tmp_path / "m.py").read_text() == "scratch = missing_name\nagain = scratch\n"


def test_a_module_that_did_not_compile_is_not_held_to_compile(tmp_path, scratch_rule):
    """CK302's kind of file: a plain `def` with `await` never compiled; a fix elsewhere in it is still judged on
    parsing and names."""
    original = "scratch = 1\n\n\ndef load(store):\n    return await store.get()\n"
    scratch_rule("CK992", lambda ctx: None if "# fixed" in ctx.text else [ctx.insert(0, "# fixed\n")])
    (tmp_path / "m.py").write_text(original)
    result = cli("apply", "--select", "CK992", str(tmp_path))
    assert "internal error" not in result.output
    assert (tmp_path / "m.py").read_text() == "# fixed\n" + original


def test_a_fix_with_imports_adds_them_once_for_every_finding_that_needs_them(tmp_path, scratch_rule):
    def fix(ctx):
        if "getcwd" in ctx.text:
            return None
        local, needed = ctx.ensure_module("os")
        return [needed, ctx.insert(len(ctx.text), f"here = {local}.getcwd()\n")]

    scratch_rule("CK991", fix)
    scratch_rule("CK990", fix)
    (tmp_path / "m.py").write_text('"""Doc."""\nfrom __future__ import annotations\n\nscratch = 1\n')
    result = cli("apply", "--select", "CK991,CK990", str(tmp_path))
    assert "internal error" not in result.output
    text = (tmp_path / "m.py").read_text()
    assert text.startswith('"""Doc."""\nfrom __future__ import annotations\nimport os\n\nscratch = 1\n')
    assert text.count("import os") == 1


def test_json_edits_of_a_fix_with_imports_turn_the_file_into_the_fixed_file(tmp_path):
    (tmp_path / "s.py").write_bytes(CRLF_STORE)
    document = json.loads(cli("check", "--format", "json", str(tmp_path)).output)
    text = CRLF_STORE.decode()
    fix = next(f["fix"] for f in document["findings"] if f["code"] == "CK301" and f["fix"] and "Store" in f["message"])
    from chatkit_fix.findings import Edit

    after = apply_edits(text, [Edit(e["start"], e["end"], e["content"]) for e in fix["edits"]])
    assert after.startswith("from chatkit.store import Store\r\nfrom chatkit.types import Attachment, Page, ThreadItem, "
                            "ThreadMetadata\r\n")
    assert "async def save_thread" in after


def test_check_builds_no_libcst_tree_even_for_fixes_that_need_imports(tmp_path):
    """Imports are placed when a fix is applied or shown as edits: a text `check` never pays for libcst."""
    (tmp_path / "s.py").write_bytes(CRLF_STORE)
    completed = subprocess.run([sys.executable, "-X", "importtime", "-m", "chatkit_fix", "check", str(tmp_path)],
                               capture_output=True, text=True)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "CK301" in completed.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in completed.stderr.splitlines() if "|" in line}
    assert "libcst" not in imported and "pyflakes" not in imported


# ---- where imports go ---------------------------------------------------------------------------------------------


def added(text: str, *changes: ImportChange, newline: str = "\n") -> str:
    return apply_import_changes(text, changes, newline)


def test_new_import_goes_above_the_first_relative_import():
    text = "from fastapi import FastAPI\nfrom .config import settings\nfrom .store import Store\n\napp = FastAPI()\n"
    assert added(text, ImportChange("os")) == (
        "from fastapi import FastAPI\nimport os\nfrom .config import settings\nfrom .store import Store\n\napp = FastAPI()\n"
    )


def test_only_relative_imports_then_the_new_one_goes_first_after_the_docstring():
    text = '"""Doc."""\nfrom .config import settings\n\nx = settings\n'
    assert added(text, ImportChange("os")) == '"""Doc."""\nimport os\nfrom .config import settings\n\nx = settings\n'


def test_after_the_docstring_and_future_imports_when_the_file_has_no_other_import():
    text = '"""Doc."""\nfrom __future__ import annotations\n\n\nclass A:\n    pass\n'
    assert added(text, ImportChange("chatkit.types", "Page")) == (
        '"""Doc."""\nfrom __future__ import annotations\nfrom chatkit.types import Page\n\n\nclass A:\n    pass\n'
    )


def test_a_file_without_imports_gets_a_block_and_pep8_blank_lines():
    assert added("class A:\n    pass\n", ImportChange("chatkit.types", "Page")) == (
        "from chatkit.types import Page\n\n\nclass A:\n    pass\n"
    )
    assert added("x = 1\n", ImportChange("os")) == "import os\n\nx = 1\n"


def test_an_existing_from_import_is_extended_in_its_own_layout():
    one_per_line = "from chatkit.types import (\n    ThreadMetadata,\n    ThreadItem,\n)\n\nx = 1\n"
    assert added(one_per_line, ImportChange("chatkit.types", "Page")) == (
        "from chatkit.types import (\n    ThreadMetadata,\n    ThreadItem,\n    Page,\n)\n\nx = 1\n"
    )
    assert added("from chatkit.types import ThreadMetadata\n", ImportChange("chatkit.types", "Page")) == (
        "from chatkit.types import ThreadMetadata, Page\n"
    )


def test_imports_keep_crlf_tabs_a_cookie_and_a_missing_last_newline():
    crlf = "import sys\r\n\r\nif sys:\r\n\tx = 1\r\n"
    assert added(crlf, ImportChange("os"), newline="\r\n") == "import sys\r\nimport os\r\n\r\nif sys:\r\n\tx = 1\r\n"
    cookie = "# -*- coding: latin-1 -*-\nimport sys\nx = 'caf\u00e9'"
    assert added(cookie, ImportChange("os")) == "# -*- coding: latin-1 -*-\nimport sys\nimport os\nx = 'caf\u00e9'"


def test_imports_added_above_a_crlf_file_with_no_line_break_before_them_end_with_crlf():
    # the head libcst sees (what precedes the first statement that is not an import) holds no line break to copy
    assert added("class A:\r\n    pass\r\n", ImportChange("chatkit.store", "NotFoundError"),
                 ImportChange("chatkit.types", "Page"), newline="\r\n") == (
        "from chatkit.store import NotFoundError\r\nfrom chatkit.types import Page\r\n\r\n\r\nclass A:\r\n    pass\r\n"
    )
    assert added('"""Doc."""\r\nx = 1\r\n', ImportChange("os"), newline="\r\n") == (
        '"""Doc."""\r\nimport os\r\n\r\nx = 1\r\n'
    )


def test_an_import_nothing_uses_any_more_is_removed_and_one_still_used_is_kept():
    text = "from agents.mcp import MCPServerSse, MCPServerStdio\n\nserver = MCPServerStdio()\n"
    assert apply_import_changes(text, [ImportChange("agents.mcp", "MCPServerSse", remove=True)]) == (
        "from agents.mcp import MCPServerStdio\n\nserver = MCPServerStdio()\n"
    )
    assert apply_import_changes(text, [ImportChange("agents.mcp", "MCPServerStdio", remove=True)]) == text


def test_minimal_edits_rebuild_the_new_text():
    before = "a\nb\nc\n"
    after = "a\nimport os\nb\nc\nd\n"
    edits = minimal_edits(before, after)
    assert apply_edits(before, list(edits)) == after
    assert all(edit.start == edit.end for edit in edits)  # pure insertions: nothing else was touched


def test_the_engine_applies_imports_to_a_bom_file(tmp_path):
    (tmp_path / "s.py").write_bytes(b"\xef\xbb\xbf" + CRLF_STORE.replace(b"\r\n", b"\n"))
    cli("apply", str(tmp_path))
    data = (tmp_path / "s.py").read_bytes()
    assert data.startswith(b"\xef\xbb\xbffrom chatkit.store import Store, NotFoundError\nfrom chatkit.types import ")
    assert imports_cleanly(tmp_path, "s").returncode == 0



def test_the_engine_applies_imports_to_a_latin1_file_with_its_cookie_and_tabs(tmp_path):
    source = ("# -*- coding: latin-1 -*-\n# caf\u00e9\nfrom chatkit.store import Store\n\n\nclass MyStore(Store):\n"
              "\tasync def load_thread(self, thread_id, context):\n\t\traise KeyError(thread_id)\n")
    (tmp_path / "s.py").write_bytes(source.encode("latin-1"))
    cli("apply", str(tmp_path))
    text = (tmp_path / "s.py").read_bytes().decode("latin-1")
    assert text.startswith("# -*- coding: latin-1 -*-\n# caf\u00e9\nfrom chatkit.store import Store, NotFoundError\n"
                           "from chatkit.types import ")
    assert "\n\tasync def save_thread(" in text and "\n    async def" not in text
    assert imports_cleanly(tmp_path, "s").returncode == 0


def test_a_replayed_check_keeps_the_imports_of_its_fixes(tmp_path):
    """The check cache stores a fix's import changes with its edits: the replayed JSON is the fresh one."""
    (tmp_path / "s.py").write_bytes(CRLF_STORE)
    fresh = cli("check", "--format", "json", str(tmp_path)).output
    replayed = cli("check", "--format", "json", str(tmp_path)).output
    assert list((tmp_path / FOLDER).glob("check-*.json")), "the first run stored no cache entry"
    assert replayed == fresh
    assert "from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata" in replayed


def test_a_fix_that_breaks_the_code_and_needs_an_import_is_reported_as_not_parsing(tmp_path, scratch_rule):
    scratch_rule("CK989", lambda ctx: [ctx.insert(0, "def (:\n"), ctx.ensure_module("os")[1]])
    (tmp_path / "m.py").write_text("scratch = 1\n")
    result = cli("apply", "--select", "CK989", str(tmp_path))
    assert result.exit_code == 2
    assert "internal error in CK989: its fix would not parse; fix dropped" in result.output
    assert (tmp_path / "m.py").read_text() == "scratch = 1\n"
