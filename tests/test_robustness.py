"""Nothing lost: real code no one here wrote, mutated fixtures, and runs killed in the middle of writing."""

from __future__ import annotations

import ast
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The pinned node_modules of the TSX type-check suite (installed once into .cache/, then reused): one install helper.
from test_tsx_typecheck import toolchain  # noqa: F401 (a fixture)

from chatkit_fix.engine import parses
from chatkit_fix.project import SKIPPED_DIRS
from chatkit_fix.rules import load_rules
from chatkit_fix.sources import SCRIPT_SUFFIXES, SourceFile
from chatkit_fix.testing import check_rules, run_rules, write_files

# A file counts as ChatKit-stack code when it names one of these; anything else must come out byte-identical.
STACK_WORDS = (b"chatkit", b"agents", b"mcp", b"uvicorn", b"fastapi", b"starlette", b"jwt", b"jose", b"CORSMiddleware",
               b"threads.", b"openai")


def _unskipped(parts: tuple[str, ...]) -> list[str]:
    """Folder names the project walker would skip (dist, build, out, hidden folders...) get a suffix, so the copied
    tree is checked in full instead of silently losing whole packages."""
    return [f"{part}_" if part in SKIPPED_DIRS or part.startswith(".") else part for part in parts]


def _check_then_apply(tree: Path, files: int):
    """check, then apply --unsafe-fixes, with every rule: every file is walked, no rule crashes, fixes converge."""
    codes = set(load_rules())
    checked = check_rules(tree, codes)
    assert checked.files_checked == files, "the walker skipped part of the corpus"
    crashes = [e for e in checked.errors if "internal error" in e.message]
    assert not crashes, [(str(e.path), e.message) for e in crashes[:5]]
    applied = run_rules(tree, codes, unsafe=True)
    assert not [e for e in applied.errors if "internal error" in e.message or "did not converge" in e.message]
    return checked


def _assert_second_pass_changes_nothing(tree: Path) -> None:
    second = run_rules(tree, set(load_rules()), unsafe=True)
    assert not second.fixed, [str(f.path) for f in second.fixed]


@pytest.mark.slow
def test_site_packages_corpus(tmp_path, capsys):
    """check + apply over every .py file of this environment's site-packages: no crash, only parseable changes."""
    site = Path(sysconfig.get_paths()["purelib"])
    tree = tmp_path / "corpus"
    copied = 0
    for source in sorted(site.rglob("*.py")):
        if "__pycache__" in source.parts or source.is_symlink():
            continue
        relative = source.relative_to(site)
        target = tree.joinpath(*_unskipped(relative.parts[:-1]), relative.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied += 1
    before = {p: p.read_bytes() for p in tree.rglob("*.py")}
    checked = _check_then_apply(tree, copied)
    changed = [p for p, data in before.items() if p.read_bytes() != data]
    for path in changed:
        data = path.read_bytes()
        assert any(word in before[path] for word in STACK_WORDS), f"{path} has no ChatKit-stack code but was changed"
        ast.parse(data)
    _assert_second_pass_changes_nothing(tree)
    with capsys.disabled():
        print(f"\ncorpus: {copied} files, {len(checked.findings)} findings, {len(checked.errors)} unparseable, "
              f"{len(changed)} changed by apply, 0 crashes")


# A script counts as ChatKit code when it names ChatKit; anything else must come out byte-identical.
CHATKIT_WORDS = (b"chatkit", b"ChatKit", b"openai-chatkit")


@pytest.mark.slow
def test_npm_corpus(tmp_path, capsys, toolchain):  # noqa: F811 (the imported fixture)
    """check + apply --unsafe-fixes over every script file of the installed npm packages: no crash, changes only to
    files that name ChatKit, every change still parses, and a second pass changes nothing."""
    modules = toolchain / "node_modules"
    tree = tmp_path / "corpus"
    originals: dict[Path, bytes] = {}
    for source in sorted(modules.rglob("*")):
        if source.suffix.lower() not in SCRIPT_SUFFIXES or source.is_symlink() or not source.is_file():
            continue
        relative = source.relative_to(modules)
        target = tree.joinpath(*_unskipped(relative.parts[:-1]), relative.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        originals[target] = target.read_bytes()
    assert len(originals) >= 2000, f"only {len(originals)} script files under {modules}"
    checked = _check_then_apply(tree, len(originals))
    changed = [path for path, data in originals.items() if path.read_bytes() != data]
    for path in changed:
        assert any(word in originals[path] for word in CHATKIT_WORDS), f"{path} names no ChatKit but was changed"
        after = SourceFile.from_bytes(path, path.read_bytes()).text
        assert parses(SourceFile.from_bytes(path, originals[path]), after), f"{path} no longer parses"
    _assert_second_pass_changes_nothing(tree)
    by_suffix = Counter(path.suffix.lower() for path in originals)
    mentioning = sum(1 for data in originals.values() if any(word in data for word in CHATKIT_WORDS))
    with capsys.disabled():
        print(f"\nnpm corpus: {len(originals)} files (all of them: "
              + ", ".join(f"{count} {suffix}" for suffix, count in sorted(by_suffix.items()))
              + f"), {sum(len(d) for d in originals.values()) / 1e6:.1f} MB, {mentioning} naming ChatKit, "
              f"{len(checked.findings)} findings, {len(checked.errors)} unreadable or unparseable, "
              f"{len(changed)} changed by apply, 0 crashes, second pass changed 0")


def _broken_project(root: Path, count: int) -> dict[Path, bytes]:
    padding = "".join(f"# line {i} of filler so the write takes a moment\n" for i in range(400))
    files = {}
    for index in range(count):
        text = f'{padding}import uvicorn\napp = object()\nif __name__ == "__main__":\n    uvicorn.run(app, reload=True)\n'
        files[f"pkg{index % 10}/mod{index}.py"] = text
    write_files(root, files)
    return {root / name: text.encode() for name, text in files.items()}


def _interrupt_apply(root: Path, sig: int) -> tuple[int, dict[Path, bytes]]:
    originals = _broken_project(root, 600)
    process = subprocess.Popen(
        [sys.executable, "-m", "chatkit_fix", "apply", "--jobs", "1", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(path.read_bytes() != data for path, data in originals.items()):
            break
        if process.poll() is not None:
            break
        time.sleep(0.002)
    process.send_signal(sig)
    process.communicate(timeout=60)
    return process.returncode, originals


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_apply_leaves_every_file_whole(tmp_path, sig):
    returncode, originals = _interrupt_apply(tmp_path, sig)
    old = new = 0
    for path, data in originals.items():
        current = path.read_bytes()
        if current == data:
            old += 1
        else:
            assert current == data.replace(b"uvicorn.run(app,", b'uvicorn.run("' + _module(tmp_path, path).encode() + b':app",'), path
            new += 1
    assert old + new == len(originals)
    leftovers = [p.name for p in tmp_path.rglob("*.chatkit-fix.tmp")]
    if sig == signal.SIGINT:
        assert returncode == 2
        assert not leftovers, leftovers
    assert new >= 1 and old >= 1, "the signal must land in the middle of the writes"


def _module(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


# ---- fuzzing the rule fixtures -------------------------------------------------------------------------------------

def _python_cases():
    for rule in load_rules().values():
        for case in rule.invalid:
            if len(case.files) == 1 and next(iter(case.files)).endswith(".py") and case.expected is not None:
                yield rule, case


PYTHON_CASES = list(_python_cases())


def _statement_lines(text: str) -> dict[int, str | None]:
    """Lines where a statement starts (safe places for a comment), each with the first line of the top-level
    statement that encloses it (None for top-level statements themselves)."""
    tree = ast.parse(text)
    source_lines = text.splitlines()
    lines: dict[int, str | None] = {}
    def start(node: ast.stmt) -> int:  # a decorated definition starts at its first decorator
        decorators = getattr(node, "decorator_list", None)
        return decorators[0].lineno if decorators else node.lineno

    for top in tree.body:
        lines[start(top)] = None
        for node in ast.walk(top):
            if isinstance(node, ast.stmt) and node is not top:
                lines.setdefault(start(node), source_lines[top.lineno - 1])
    return dict(sorted(lines.items()))


@st.composite
def mutations(draw, text: str):
    lines = text.splitlines(keepends=True)
    enclosing = _statement_lines(text)
    inserts = draw(st.lists(st.sampled_from(sorted(enclosing)), max_size=4, unique=True))
    tags = []
    for number in sorted(inserts, reverse=True):
        indent = lines[number - 1][: len(lines[number - 1]) - len(lines[number - 1].lstrip())]
        tag = f"# fuzz-mark-{number}-\u00e9\u6f22"
        extra_blank = draw(st.booleans())
        # a blank line detaches the comment from the statement: a fix that deletes the statement may take the
        # comment that documents it, but never a detached one
        lines.insert(number - 1, f"{indent}{tag}\n\n" + ("\n" if extra_blank else ""))
        tags.append((tag, enclosing[number]))
    mutated = "".join(lines)
    crlf = draw(st.booleans())
    bom = draw(st.booleans())
    return mutated, tags, crlf, bom


@pytest.mark.parametrize(("rule", "case"), PYTHON_CASES, ids=[f"{r.code}-{i}" for i, (r, _) in enumerate(PYTHON_CASES)])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_fixtures_keep_findings_and_bytes(rule, case, data, tmp_path_factory):
    (name, text), = case.files.items()
    mutated, tags, crlf, bom = data.draw(mutations(text))
    root = tmp_path_factory.mktemp("fuzz")
    raw = mutated.replace("\n", "\r\n") if crlf else mutated
    payload = (b"\xef\xbb\xbf" if bom else b"") + raw.encode("utf-8")
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(payload)
    (root / "baseline").mkdir()
    write_files(root / "baseline", {name: text})
    baseline = len([f for f in check_rules(root / "baseline", {rule.code}).findings if f.code == rule.code])
    shutil.rmtree(root / "baseline")
    found = [f for f in check_rules(root, {rule.code}).findings if f.code == rule.code]
    assert len(found) == baseline
    applied = run_rules(root, {rule.code}, unsafe=case.unsafe)
    assert not applied.errors, [e.message for e in applied.errors]
    result = (root / name).read_bytes()
    assert result.startswith(b"\xef\xbb\xbf") == bom
    decoded = result.decode("utf-8-sig")
    if crlf:
        assert "\n" not in decoded.replace("\r\n", "")
    for tag, header in tags:
        if header is not None and header not in decoded:
            continue  # the fix deleted the whole definition this comment sat inside
        assert decoded.count(tag) == 1, f"mutation {tag!r} lost"
    assert parses(SourceFile.from_bytes(root / name, result), decoded)
    assert not run_rules(root, {rule.code}, unsafe=case.unsafe).fixed
    expected_fixed = case.expected[name]
    if not tags:
        assert decoded.replace("\r\n", "\n") == expected_fixed
