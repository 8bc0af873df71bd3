"""Walks. The project walk: files come in the order of their path strings, and the name prefilter of .gitignore
patterns never changes a verdict pathspec would give. Syntax trees: walked with pyast.walk."""

from __future__ import annotations

from pathlib import Path

import pathspec
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chatkit_fix.config import Settings
from chatkit_fix.project import Project, _Patterns

TRICKY = ["a", "a-b", "a.txt", "ab", "A", "a0", "b", "_x", "~y", "a b"]


def test_files_come_in_the_order_of_their_paths(tmp_path):
    for name in TRICKY:
        (tmp_path / name).mkdir()
        for inner in TRICKY[:4]:
            (tmp_path / name / f"{inner}.py").write_text("")
        (tmp_path / f"{name}.py").write_text("")
    walked = Project.discover(tmp_path, Settings(root=tmp_path), [tmp_path]).files
    assert walked == sorted(walked, key=str)
    fresh = [Path(str(path)) for path in walked]  # the walk builds its Path objects without parsing strings
    assert walked == fresh and set(walked) == set(fresh) and [p.parts for p in walked] == [p.parts for p in fresh]
    assert len(walked) == len(TRICKY) * 5


NAMES = st.sampled_from(["main.py", "a.pyc", "node_modules", "keep.log", "x.log", "build", "docs", "README.md",
                         "b", "ab", "[x]", "!odd", "#hash", "sp ace"])
PATTERNS = st.sampled_from(["*.pyc", "node_modules/", "*.log", "!keep.log", "/build", "docs/**/*.md", "b", "a?",
                            "[ab]*", "!b", "# comment", "", "**/x.log", "\\#hash", "\\!odd", "sp ace", "*", "a/b",
                            "docs/**", "/", "b/main.py", "!docs/b", "build/x.log/", "[!a]*.py"])


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(PATTERNS, max_size=6), folders=st.lists(NAMES, max_size=3), name=NAMES, is_dir=st.booleans())
def test_the_name_prefilter_never_changes_a_verdict(lines, folders, name, is_dir):
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    # the walk asks about a path only when none of its folders was ignored (it does not descend into those)
    assume(not any(spec.check_file("/".join(folders[:depth]) + "/").include for depth in range(1, len(folders) + 1)))
    relative = "/".join([*folders, name])
    expected = spec.check_file(relative + ("/" if is_dir else "")).include
    decided = _Patterns(lines).decide(relative, name, is_dir)
    # ignored or not, as pathspec says; where pathspec re-includes a file only because a `!` pattern matches one of
    # its folders, the filter has no opinion (None), as git, which judges the file by the patterns matching it
    assert bool(decided) == bool(expected)
    assert decided == expected or decided is None and expected is False


def test_most_gitignores_get_a_name_prefilter():
    assert _Patterns(["__pycache__/", "*.pyc", ".env", "!keep.env", "/dist", "web/.next/"]).names is not None
    assert _Patterns(["docs/**", "*.pyc"]).names is None  # anything below docs/: the name cannot tell


def test_rules_walk_syntax_trees_with_pyast_walk():
    """`pyast.walk` shares one walk per module between the rules; an `ast.walk` would quietly bring the cost back."""
    package = Path(__file__).resolve().parent.parent
    offenders = [
        str(path.relative_to(package))
        for folder in ("chatkit_fix", "codemods")
        for path in (package / folder).rglob("*.py")
        if "ast.walk(" in path.read_text(encoding="utf-8") and path.name != "pyast.py"
    ]
    assert not offenders, f"use chatkit_fix.pyast.walk instead of ast.walk in {offenders}"
