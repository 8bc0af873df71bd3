"""chatkit_fix.versions: what each service of a project declares, judged against the recorded releases, and the
facts looked up for that release. (That the facts are right is shown by running the packages: tests/versions/.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatkit_fix import versions
from chatkit_fix.config import load_settings
from chatkit_fix.project import Project
from chatkit_fix.testing import write_files


def project_of(root: Path, files: dict[str, str]) -> Project:
    write_files(root, files)
    return Project.discover(root, load_settings(root), [root])


def newest(distribution: str) -> str:
    return versions.known_releases(distribution)[-1]


def test_each_service_is_judged_by_its_own_declarations(tmp_path: Path):
    project = project_of(tmp_path, {
        "backend/requirements.txt": "openai-agents==0.24.0\n",
        "backend/app/server.py": "",
        "support/pyproject.toml": "[project]\nname = 's'\ndependencies = ['openai-agents>=0.20']\n",
        "support/src/support/server.py": "",
    })
    pinned = versions.judged_version(project, "openai-agents", tmp_path / "backend/app/server.py")
    assert (pinned.version, pinned.source) == ("0.24.0", "pinned in backend/requirements.txt (openai-agents==0.24.0)")
    unbounded = versions.judged_version(project, "openai_agents", tmp_path / "support/src/support/server.py")
    assert unbounded.version == newest("openai-agents")
    assert unbounded.source == "newest known release (unbounded openai-agents>=0.20 in support/pyproject.toml)"


def test_a_lock_file_beats_the_manifest_beside_it_and_a_nearer_folder_beats_the_root(tmp_path: Path):
    project = project_of(tmp_path, {
        "pyproject.toml": "[project]\nname = 'app'\ndependencies = ['openai-chatkit>=1.0', 'mcp']\n",
        "uv.lock": 'version = 1\n\n[[package]]\nname = "openai-chatkit"\nversion = "1.2.0"\n',
        "tools/requirements.txt": "mcp==1.9.4\n",
        "tools/server.py": "",
    })
    locked = versions.judged_version(project, "openai-chatkit", tmp_path / "tools/server.py")
    assert (locked.version, locked.source) == ("1.2.0", "locked in uv.lock")
    assert versions.judged_version(project, "mcp", tmp_path / "tools/server.py").version == "1.9.4"
    root = versions.judged_version(project, "mcp")
    assert root.version == newest("mcp") and "unbounded mcp in pyproject.toml" in root.source


def test_upper_bounds_pick_the_newest_release_they_admit(tmp_path: Path):
    project = project_of(tmp_path, {"requirements.txt": "mcp>=1.0,<2  # stay on 1.x\nopenai-agents~=0.4.0\n"})
    assert versions.judged_version(project, "mcp").version == max(
        (v for v in versions.known_releases("mcp") if v.startswith("1.")), key=lambda v: tuple(map(int, v.split("."))))
    assert versions.judged_version(project, "openai-agents").version == "0.4.2"


@pytest.mark.parametrize(("files", "expected"), [
    ({"pyproject.toml": "[tool.poetry.dependencies]\npython = '^3.11'\nmcp = '^1.9'\n"}, "1."),
    ({"pyproject.toml": "[tool.poetry.dependencies]\nmcp = {version = '~1.9.1', extras = ['cli']}\n"}, "1.9.4"),
    ({"Pipfile": "[packages]\nmcp = '==1.8.1'\n"}, "1.8.1"),
    ({"Pipfile": "[packages]\nmcp = '*'\n", "Pipfile.lock": '{"default": {"mcp": {"version": "==1.7.1"}}}'}, "1.7.1"),
    ({"poetry.lock": '[[package]]\nname = "mcp"\nversion = "1.6.0"\n'}, "1.6.0"),
    ({"requirements.txt": "-r base.txt\n", "base.txt": "mcp==1.5.0 --hash=sha256:00\n"}, "1.5.0"),
    ({"requirements-dev.in": "mcp[cli] == 1.4.1 ; python_version >= '3.10'\n"}, "1.4.1"),
])
def test_the_python_declaring_files(tmp_path: Path, files: dict[str, str], expected: str):
    judged = versions.judged_version(project_of(tmp_path, files), "mcp")
    assert judged.version is not None and judged.version.startswith(expected), judged


@pytest.mark.parametrize(("spec", "admitted", "refused"), [
    ("^1.6.0", ["1.6.0", "1.9.9"], ["2.0.0", "1.5.9"]),
    ("^0.4.2", ["0.4.9"], ["0.5.0", "0.4.1"]),
    ("~1.6.1", ["1.6.9"], ["1.7.0"]),
    ("1.x", ["1.0.0", "1.99.0"], ["2.0.0"]),
    (">=1.2 <1.4", ["1.3.5"], ["1.4.0"]),
    ("1.2.3 - 1.4.0", ["1.4.0"], ["1.4.1"]),
    ("^1.0.0 || ^3.0.0", ["1.2.0", "3.1.0"], ["2.0.0"]),
    ("1.6.1", ["1.6.1"], ["1.6.2"]),
    ("*", ["0.0.1", "9.0.0"], []),
])
def test_npm_ranges(spec: str, admitted: list[str], refused: list[str]):
    sets = versions.specifier_sets(spec, "npm")
    assert sets is not None
    for version in admitted:
        assert any(s.contains(version) for s in sets), (spec, version)
    for version in refused:
        assert not any(s.contains(version) for s in sets), (spec, version)


def test_npm_packages_from_package_json_and_its_lock(tmp_path: Path):
    project = project_of(tmp_path, {
        "web/package.json": '{"dependencies": {"@openai/chatkit-react": "^1.0.0"}}',
        "web/src/App.tsx": "",
        "admin/package.json": '{"dependencies": {"@openai/chatkit-react": "^1.0.0"}}',
        "admin/package-lock.json": '{"lockfileVersion": 3, "packages": {"": {}, '
        '"node_modules/@openai/chatkit-react": {"version": "1.1.0"}}}',
    })
    assert versions.judged_version(project, "@openai/chatkit-react", tmp_path / "web/src/App.tsx").version == newest(
        "@openai/chatkit-react")
    admin = versions.judged_version(project, "@openai/chatkit-react", tmp_path / "admin")
    assert (admin.version, admin.source) == ("1.1.0", "locked in admin/package-lock.json")


def test_nothing_declared_means_the_installed_release(tmp_path: Path):
    from importlib.metadata import version

    judged = versions.judged_version(project_of(tmp_path, {"app.py": ""}), "openai-chatkit", tmp_path / "app.py")
    assert (judged.version, judged.spec) == (version("openai-chatkit"), None)
    assert judged.source == "installed (the project declares nothing)"


def test_a_specifier_no_known_release_satisfies_is_unknown_and_a_pin_beyond_them_is_taken_at_its_word(tmp_path: Path):
    project = project_of(tmp_path, {"a/requirements.txt": "mcp>=99\n", "b/requirements.txt": "mcp==99.0.1\n"})
    unknown = versions.judged_version(project, "mcp", tmp_path / "a")
    assert unknown.version is None and "no known release satisfies mcp>=99" in unknown.source
    assert versions.judged_version(project, "mcp", tmp_path / "b").version == "99.0.1"


def test_a_fact_answers_for_the_judged_release_and_is_unknown_outside_the_measured_ranges(tmp_path: Path):
    fact = "chatcmpl-rejects-output-text-history"
    ranges = versions.facts()[fact]["ranges"]
    holding = next(r for r in ranges if r["value"])
    project = project_of(tmp_path, {
        "old/requirements.txt": "openai-agents==0.0.3\n",
        "held/requirements.txt": f"openai-agents=={holding['measured'][-1]}\n",
    })
    answer = versions.value(project, fact, tmp_path / "held")
    assert answer.value is True and answer.range == holding["spec"]
    assert versions.holds(project, fact, tmp_path / "held")
    below = versions.value(project, fact, tmp_path / "old")
    assert below.value is None and not versions.holds(project, fact, tmp_path / "old")


def test_the_versions_module_knows_no_rule():
    source = Path(versions.__file__).read_text()
    for layer in ("rules", "context", "codemods", "analysis", "engine"):
        assert f"from .{layer}" not in source and f"chatkit_fix.{layer}" not in source
    import re

    assert not re.search(r"\bCK\d{3}\b", source)


def test_verbose_check_names_the_version_judged_per_service(tmp_path: Path):
    from click.testing import CliRunner

    from chatkit_fix.cli import main

    write_files(tmp_path, {
        "backend/requirements.txt": "openai-agents==0.24.0\n",
        "support/pyproject.toml": "[project]\nname = 's'\ndependencies = ['openai-agents>=0.20']\n",
        "app.py": "x = 1\n",
    })
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--verbose"])
    output = result.output + (result.stderr if result.stderr_bytes else "")
    assert "version: openai-agents 0.24.0: pinned in backend/requirements.txt (openai-agents==0.24.0)" in output
    assert (f"version: openai-agents {newest('openai-agents')}: newest known release (unbounded openai-agents>=0.20 "
            "in support/pyproject.toml)") in output
