"""Lazy fixes: a rule may hand `finding()` a function that builds its edits. The engine builds it only when the run
needs edits (apply, JSON output), and a builder that raises leaves the finding standing, report-only: `check` never
exits 2 because of a fix, and `apply` writes nothing for it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from chatkit_fix.cli import main
from chatkit_fix.config import Settings
from chatkit_fix.context import context_for
from chatkit_fix.engine import Engine, settle_fix
from chatkit_fix.findings import Safety
from chatkit_fix.project import Project
from chatkit_fix.rules import REGISTRY, load_rules, rule
from chatkit_fix.sources import SourceFile

SCRATCH = "scratch = 1\n"


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


class Builds:
    """Counts the builds of a scratch rule's lazy fix; `fails` makes the builder raise as a fix on odd input does."""

    def __init__(self, fails: bool):
        self.fails = fails
        self.count = 0

    def __call__(self, ctx):
        self.count += 1
        if self.fails:
            raise ValueError("no module path for a folder named 'jwt-auth'")
        return [ctx.insert(0, "# fixed\n")] if "# fixed" not in ctx.text else None


@pytest.fixture
def scratch_rule():
    """Register a rule whose only finding carries a lazy fix; removed again after the test."""
    load_rules()
    created = []

    def make(code: str, builds: Builds, project: bool = False, safety: Safety = Safety.SAFE):
        made = rule(code=code, slug=f"scratch-{code.lower()}", safety=safety, summary="scratch",
                    url="https://example.invalid", triggers=(b"scratch",), module=f"tests.scratch.{code}",
                    anywhere=(b"scratch",))  # the scratch files import nothing of the stack: in scope by this

        def finding(ctx):
            if "# fixed" in ctx.text:
                return None
            return ctx.finding(1, "scratch finding", fix=lambda: builds(ctx))

        if project:
            @made.check_project
            def check_project(pctx):
                for path in pctx.project.files_of("python"):
                    found = finding(pctx.parsed(path))
                    if found is not None:
                        yield found
        else:
            @made.check
            def check(ctx):
                found = finding(ctx)
                if found is not None:
                    yield found

        created.append(code)
        return made

    yield make
    for code in created:
        REGISTRY.pop(code, None)


@pytest.mark.parametrize("project", [False, True], ids=["file-check", "project-check"])
def test_a_fix_that_cannot_be_built_leaves_the_finding_report_only(tmp_path, scratch_rule, project):
    builds = Builds(fails=True)
    scratch_rule("CK989", builds, project=project)
    path = tmp_path / "m.py"
    path.write_text(SCRATCH)
    written = path.stat().st_mtime_ns

    checked = cli("check", "--no-cache", "--select", "CK989", str(tmp_path))
    assert checked.exit_code == 1, checked.output + checked.stderr
    assert "1:1 CK989 scratch finding" in checked.output
    assert builds.count == 0, "a plain check built the fix"

    as_json = cli("check", "--no-cache", "--format", "json", "--select", "CK989", str(tmp_path))
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert [(f["code"], f["line"], f["fix"]) for f in report["findings"]] == [("CK989", 1, None)]
    assert report["errors"] == [] and report["summary"]["fixable"] == 0

    applied = cli("apply", "--select", "CK989", str(tmp_path))
    assert applied.exit_code == 1, applied.output + applied.stderr
    assert "1:1 CK989 scratch finding\n" in applied.output  # no fix marker: not fixable
    assert "Found 1 finding." in applied.output and "fixable" not in applied.output
    assert "internal error" not in applied.output + applied.stderr
    assert path.read_text() == SCRATCH and path.stat().st_mtime_ns == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]  # nothing written beside it either

    applied_json = json.loads(cli("apply", "--format", "json", "--select", "CK989", str(tmp_path)).stdout)
    assert applied_json["fixed"] == [] and applied_json["applied"] == []
    assert [f["fix"] for f in applied_json["findings"]] == [None]


def test_verbose_says_which_fix_could_not_be_built_and_why(tmp_path, scratch_rule, monkeypatch):
    scratch_rule("CK988", Builds(fails=True))
    (tmp_path / "m.py").write_text(SCRATCH)
    monkeypatch.chdir(tmp_path)
    quiet = cli("apply", "--select", "CK988", ".")
    assert "could not be built" not in quiet.stderr
    verbose = cli("apply", "--verbose", "--select", "CK988", ".")
    assert verbose.exit_code == 1
    notes = [line for line in verbose.stderr.splitlines() if "could not be built" in line]
    assert notes == [
        "chatkit-fix: note: m.py:1:1: CK988's fix could not be built (ValueError: no module path for a folder named 'jwt-auth'); reported without a fix"
    ]


def test_a_lazy_fix_is_built_for_apply_and_json_and_only_there(tmp_path, scratch_rule):
    builds = Builds(fails=False)
    scratch_rule("CK987", builds)
    path = tmp_path / "m.py"
    path.write_text(SCRATCH)

    checked = cli("check", "--no-cache", "--select", "CK987", str(tmp_path))
    assert "1:1 CK987 scratch finding [*]" in checked.output  # offered, not built
    assert "1 fixable with `chatkit-fix apply`" in checked.output
    assert builds.count == 0

    report = json.loads(cli("check", "--no-cache", "--format", "json", "--select", "CK987", str(tmp_path)).stdout)
    assert report["findings"][0]["fix"] == {
        "safety": "safe", "complete": True, "edits": [{"start": 0, "end": 0, "content": "# fixed\n"}],
    }
    assert builds.count == 1

    diff = cli("apply", "--diff", "--select", "CK987", str(tmp_path))
    assert "+# fixed" in diff.output and path.read_text() == SCRATCH
    applied = cli("apply", "--select", "CK987", str(tmp_path))
    assert applied.exit_code == 0, applied.output
    assert path.read_text() == "# fixed\n" + SCRATCH


def test_a_cached_check_of_offers_is_not_replayed_where_edits_are_shown(tmp_path, scratch_rule):
    builds = Builds(fails=False)
    scratch_rule("CK986", builds)
    (tmp_path / "m.py").write_text(SCRATCH)
    cli("check", "--select", "CK986", str(tmp_path))  # stores the finding with its fix offered, unbuilt
    assert builds.count == 0
    report = json.loads(cli("check", "--format", "json", "--select", "CK986", str(tmp_path)).stdout)
    assert report["findings"][0]["fix"]["edits"] == [{"start": 0, "end": 0, "content": "# fixed\n"}]
    assert builds.count == 1
    again = json.loads(cli("check", "--format", "json", "--select", "CK986", str(tmp_path)).stdout)
    assert again == report and builds.count == 1  # the built run was stored and is replayed
    text = cli("check", "--select", "CK986", str(tmp_path))
    assert "1:1 CK986 scratch finding [*]" in text.output and builds.count == 1


@pytest.mark.parametrize("build", [False, True], ids=["offers", "built"])
def test_lazy_fixes_cross_worker_processes(tmp_path, scratch_rule, build):
    """A large tree is checked in forked workers: what comes back is an offer or a built fix, never a builder."""
    scratch_rule("CK985", Builds(fails=False))
    for index in range(60):
        (tmp_path / f"m{index}.py").write_text(SCRATCH)
    project = Project.discover(tmp_path, Settings(tmp_path), [tmp_path])
    result = Engine(project, load_rules(), {"CK985"}, jobs=2, build_fixes=build).check()
    assert not result.errors
    assert len(result.findings) == 60
    assert all(f.fix is not None and f.fix.builder is None and f.fix.built == build for f in result.findings)
    assert all(bool(f.fix.edits) == build for f in result.findings)


def test_a_builder_runs_as_the_rule_that_reported(tmp_path):
    """todo() inside a lazy fix marks the reporting rule's code, even when the fix is built after another rule ran."""
    rules = load_rules()
    path = tmp_path / "m.py"
    path.write_text(SCRATCH)
    project = Project.discover(tmp_path, Settings(tmp_path), [tmp_path])
    ctx = context_for(SourceFile.from_bytes(path, path.read_bytes()), project)
    ctx.rule = rules["CK901"]
    finding = ctx.finding(1, "scratch finding", fix=lambda: [ctx.todo(1, "look here")])
    ctx.rule = rules["CK902"]
    assert finding.fix.built is False and finding.fix.complete is True  # an offer: nothing known yet
    settle_fix(finding)
    assert [edit.text for edit in finding.fix.edits] == ["# chatkit-fix: TODO[CK901] look here\n"]
    assert finding.fix.complete is False  # a TODO marker: the fix says it is incomplete
    assert ctx.rule is rules["CK902"]


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "lazy"])
def test_a_fix_whose_own_edits_overlap_is_dropped_not_a_crash(tmp_path, scratch_rule, lazy):
    """Two edits of one fix over the same text cannot both apply: a rule bug on odd input, the finding stays."""
    overlapping = (lambda ctx: [ctx.replace((0, 7), "renamed"), ctx.replace((4, 9), "x")])
    code = "CK984" if lazy else "CK983"
    made = rule(code=code, slug=f"scratch-{code.lower()}", safety=Safety.SAFE, summary="scratch",
                url="https://example.invalid", triggers=(b"scratch",), module=f"tests.scratch.{code}",
                anywhere=(b"scratch",))

    @made.check
    def check(ctx):
        yield ctx.finding(1, "scratch finding", fix=(lambda: overlapping(ctx)) if lazy else overlapping(ctx))

    try:
        path = tmp_path / "m.py"
        path.write_text(SCRATCH)
        report = json.loads(cli("check", "--no-cache", "--format", "json", "--select", code, str(tmp_path)).stdout)
        assert [f["fix"] for f in report["findings"]] == [None] and report["errors"] == []
        applied = cli("apply", "--verbose", "--select", code, str(tmp_path))
        assert applied.exit_code == 1, applied.output + applied.stderr
        assert "1:1 " + code + " scratch finding\n" in applied.output
        assert f"{code}'s fix could not be built (its edits overlap at offset 4)" in applied.stderr
        assert path.read_text() == SCRATCH
    finally:
        REGISTRY.pop(code, None)
