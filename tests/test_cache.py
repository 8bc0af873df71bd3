"""The check cache replays an unchanged tree's report and never a stale one: edits, added files, a restored file,
settings, the rule selection and an SDK upgrade are all seen."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from chatkit_fix.cache import FOLDER, CheckCache, context_key
from chatkit_fix.cli import main
from chatkit_fix.config import Settings
from chatkit_fix.project import Project

BROKEN = "import uvicorn\n\napp = object()\n\nif __name__ == '__main__':\n    uvicorn.run(app, reload=True)\n"
FIXED = "import uvicorn\n\napp = object()\n\nif __name__ == '__main__':\n    uvicorn.run('main:app', reload=True)\n"


def check(root: Path, *args: str):
    result = CliRunner().invoke(main, ["check", str(root), "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def codes(report) -> list[tuple[str, str]]:
    return [(f["path"], f["code"]) for f in report["findings"]]


def cache_for(root: Path, selection=("", "", "")) -> CheckCache:
    project = Project.discover(root, Settings(root), [root])
    targets = [project.relative(path) for path in project.targets]
    return CheckCache(root, context_key(project.settings, list(selection), targets)), project


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
