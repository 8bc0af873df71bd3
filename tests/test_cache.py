"""The check cache replays an unchanged tree's report and never a stale one: edits, added files, a restored file,
settings, the rule selection and an SDK upgrade are all seen."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatkit_fix.cache import FOLDER, CheckCache, context_key, make_folder
from chatkit_fix.cli import main
from chatkit_fix.config import Settings
from chatkit_fix.project import Project

BROKEN = "import uvicorn\n\napp = object()\n\nif __name__ == '__main__':\n    uvicorn.run(app, reload=True)\n"
FIXED = "import uvicorn\n\napp = object()\n\nif __name__ == '__main__':\n    uvicorn.run('main:app', reload=True)\n"


def check(root: Path, *args: str):
    result = CliRunner().invoke(main, ["check", str(root), "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def codes(report) -> list[tuple[str, str]]:
    return [(f["path"], f["code"]) for f in report["findings"]]


def cache_for(root: Path, selection=("", "", "")) -> CheckCache:
    project = Project.discover(root, Settings(root), [root])
    return CheckCache(root, context_key(project.settings, list(selection), project.asked)), project


def test_a_second_run_replays_the_first_and_an_edit_is_seen(tmp_path, monkeypatch):
    (tmp_path / "main.py").write_text(BROKEN)
    first = check(tmp_path)
    assert codes(first) == [("main.py", "CK901")]
    assert (tmp_path / FOLDER / ".gitignore").read_text().splitlines()[-1] == "*"
    cache, project = cache_for(tmp_path)
    assert [(project.relative(f.path), f.code) for f in cache.replay(project).findings] == [("main.py", "CK901")]
    with monkeypatch.context() as patched:
        patched.setattr("chatkit_fix.engine.Engine.check", lambda self: (_ for _ in ()).throw(AssertionError("ran")))
        assert check(tmp_path) == first  # replayed: the engine never ran
    (tmp_path / "main.py").write_text(FIXED)
    assert codes(check(tmp_path)) == []
    (tmp_path / "main.py").write_text(BROKEN)
    assert codes(check(tmp_path)) == [("main.py", "CK901")]


def test_a_file_added_or_removed_is_a_new_tree(tmp_path):
    (tmp_path / "main.py").write_text(FIXED)
    assert codes(check(tmp_path)) == []
    (tmp_path / "run.py").write_text(BROKEN.replace("main:app", "run:app"))
    assert codes(check(tmp_path)) == [("run.py", "CK901")]
    (tmp_path / "run.py").unlink()
    assert codes(check(tmp_path)) == []


def test_a_restored_file_with_a_new_time_still_replays_but_new_content_does_not(tmp_path):
    (tmp_path / "main.py").write_text(BROKEN)
    check(tmp_path)
    cache, project = cache_for(tmp_path)
    stat = (tmp_path / "main.py").stat()
    os.utime(tmp_path / "main.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # a checkout's rewrite
    assert cache.replay(cache_for(tmp_path)[1]) is not None
    (tmp_path / "main.py").write_text(BROKEN.replace("object()", "object( )"))
    assert cache.replay(cache_for(tmp_path)[1]) is None


def test_settings_selection_and_sdk_location_are_part_of_the_key(tmp_path, monkeypatch):
    (tmp_path / "main.py").write_text(BROKEN)
    assert codes(check(tmp_path)) == [("main.py", "CK901")]
    assert codes(check(tmp_path, "--ignore", "CK901")) == []
    (tmp_path / "pyproject.toml").write_text('[tool.chatkit-fix]\nignore = ["CK9"]\n')
    assert codes(check(tmp_path)) == []
    (tmp_path / "pyproject.toml").write_text('[tool.chatkit-fix]\nignore = []\n')
    assert codes(check(tmp_path)) == [("main.py", "CK901")]
    before = context_key(Settings(tmp_path), ["", "", ""], ["main.py"])
    monkeypatch.setenv("CHATKIT_FIX_CHATKIT_PATH", str(tmp_path / "other-sdk"))
    assert context_key(Settings(tmp_path), ["", "", ""], ["main.py"]) != before


def test_no_cache_neither_reads_nor_writes_and_a_broken_entry_is_ignored(tmp_path):
    (tmp_path / "main.py").write_text(BROKEN)
    assert codes(check(tmp_path, "--no-cache")) == [("main.py", "CK901")]
    assert not (tmp_path / FOLDER).exists()
    check(tmp_path)
    for entry in (tmp_path / FOLDER).glob("check-*.json"):
        entry.write_text("{not json")
    assert codes(check(tmp_path)) == [("main.py", "CK901")]


def test_a_same_sized_edit_right_after_a_run_is_never_replayed(tmp_path):
    """Two writes in one clock tick can leave the same size and time: files that new are compared by content."""
    (tmp_path / "main.py").write_text(BROKEN)
    assert codes(check(tmp_path)) == [("main.py", "CK901")]
    stat = (tmp_path / "main.py").stat()
    same_size = BROKEN.replace("reload=True", "reload=None")
    assert len(same_size) == len(BROKEN)
    (tmp_path / "main.py").write_text(same_size)
    os.utime(tmp_path / "main.py", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert codes(check(tmp_path)) == []


def runs_of_engine(monkeypatch) -> list[int]:
    """Counts the runs the engine really does (a replay does none)."""
    from chatkit_fix.engine import Engine

    runs: list[int] = []
    real = Engine.check

    def counted(self):
        runs.append(1)
        return real(self)

    monkeypatch.setattr(Engine, "check", counted)
    return runs


def test_a_run_on_named_files_is_replayed_and_sees_edits_and_new_files(tmp_path, monkeypatch):
    """pre-commit and editors name files: their runs are cached too, each set of paths on its own."""
    (tmp_path / "main.py").write_text(BROKEN)
    runs = runs_of_engine(monkeypatch)
    named = tmp_path / "main.py"
    assert codes(check(named)) == [("main.py", "CK901")]
    assert codes(check(named)) == [("main.py", "CK901")]
    assert len(runs) == 1
    (tmp_path / "main.py").write_text(FIXED)
    assert codes(check(named)) == []
    assert len(runs) == 2
    (tmp_path / "main.py").write_text(BROKEN)
    assert codes(check(named)) == [("main.py", "CK901")]
    assert len(runs) == 3
    # a rule wanted the file, so the run listed the project (the scope asks which files import which): a new file
    # is a new tree
    (tmp_path / "other.py").write_text("x = 1\n")
    assert codes(check(named)) == [("main.py", "CK901")]
    assert len(runs) == 4


def written_long_ago(path: Path, text: str) -> None:
    """A file written well before the run (a file written in the run's last seconds is always read again)."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60_000_000_000))


def test_a_named_file_no_rule_wants_needs_no_listing(tmp_path, monkeypatch):
    """A run that read only the named file depends on it alone: files added elsewhere keep its entry valid."""
    written_long_ago(tmp_path / "notes.py", "TOTAL = 1 + 2\n")
    runs = runs_of_engine(monkeypatch)
    assert codes(check(tmp_path / "notes.py")) == []
    (tmp_path / "main.py").write_text(BROKEN)
    assert codes(check(tmp_path / "notes.py")) == []
    assert len(runs) == 1
    written_long_ago(tmp_path / "notes.py", "TOTAL = 1 + 3\n")
    assert codes(check(tmp_path / "notes.py")) == []
    assert len(runs) == 2


def test_only_the_newest_entries_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr("chatkit_fix.cache.KEPT", 2)
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text("x = 1\n")
        check(tmp_path / name)
    assert len(list((tmp_path / FOLDER).glob("check-*.json"))) == 2


def age_tree(root: Path) -> None:
    """Every file and folder of the tree written a minute ago (the cache trusts times only outside the last moments)."""
    for path in [root, *root.rglob("*")]:
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60_000_000_000))


def test_folder_times_prove_the_listing_and_any_change_to_it_is_seen(tmp_path, monkeypatch):
    """A replay compares folder times instead of walking the tree: an added file or a changed .gitignore is seen."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(BROKEN)
    (tmp_path / ".gitignore").write_text("generated/\n")
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "run.py").write_text(BROKEN.replace("main:app", "run:app"))
    make_folder(tmp_path)  # checked before
    age_tree(tmp_path)
    runs = runs_of_engine(monkeypatch)
    assert codes(check(tmp_path)) == [("app/main.py", "CK901")]
    with monkeypatch.context() as patched:
        patched.setattr("chatkit_fix.cache._listing_digest", lambda project: pytest.fail("walked the tree again"))
        assert codes(check(tmp_path)) == [("app/main.py", "CK901")]
    assert len(runs) == 1
    # a .gitignore edited in place, its folder's time put back: the file it no longer ignores is found
    gitignore = tmp_path / ".gitignore"
    folder_stat = tmp_path.stat()
    gitignore.write_text("build/\n")
    os.utime(tmp_path, ns=(folder_stat.st_atime_ns, folder_stat.st_mtime_ns))
    assert codes(check(tmp_path)) == [("app/main.py", "CK901"), ("generated/run.py", "CK901")]
    assert len(runs) == 2
    (tmp_path / "app" / "worker.py").write_text(BROKEN.replace("main:app", "worker:app"))
    assert codes(check(tmp_path)) == [
        ("app/main.py", "CK901"), ("app/worker.py", "CK901"), ("generated/run.py", "CK901"),
    ]


def test_a_replay_that_had_to_walk_keeps_fresh_stamps_for_the_next(tmp_path, monkeypatch):
    (tmp_path / "main.py").write_text(BROKEN)
    make_folder(tmp_path)
    age_tree(tmp_path)
    runs = runs_of_engine(monkeypatch)
    check(tmp_path)
    (entry,) = (tmp_path / FOLDER).glob("check-*.json")
    stored = json.loads(entry.read_text())
    entry.write_text(json.dumps({**stored, "stamps": None}))  # as if the folders' times proved nothing
    assert codes(check(tmp_path)) == [("main.py", "CK901")]  # replayed after walking the tree
    assert json.loads(entry.read_text())["stamps"]
    with monkeypatch.context() as patched:
        patched.setattr("chatkit_fix.cache._listing_digest", lambda project: pytest.fail("walked the tree again"))
        assert codes(check(tmp_path)) == [("main.py", "CK901")]
    assert len(runs) == 1


def test_a_service_with_its_own_package_named_like_the_sdk_is_checked_and_stored(tmp_path):
    """`backend/mcp/` is the application's package, not the SDK: the scope reads its `__init__.py` to tell, and the
    check cache must be able to store that read (it crashed `check` with an AttributeError on a str path)."""
    backend = tmp_path / "backend"
    (backend / "mcp").mkdir(parents=True)
    (backend / "requirements.txt").write_text("openai-chatkit\nmcp\nuvicorn\n")
    (backend / "mcp" / "__init__.py").write_text("from .tools import TOOLS\n")
    (backend / "mcp" / "tools.py").write_text("TOOLS = []\n")
    (backend / "main.py").write_text("from chatkit.server import ChatKitServer\n" + BROKEN)
    first = check(tmp_path)
    assert codes(first) == [("backend/main.py", "CK901")]
    assert check(tmp_path) == first
