"""The Store rules follow the SDK the project gets: the release it declares, whose contract was measured
(chatkit_fix/data/version-facts.json), or, when it declares none, the installed one, read from `chatkit.store.Store`
at run time (in a cached subprocess): a future SDK that adds an abstract method makes CK301 ask for it with no code
change. The newest measured release stands in when chatkit is not importable."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from chatkit_fix import sdk
from chatkit_fix.analysis import store as store_analysis
from chatkit_fix.rules import load_rules
from chatkit_fix.testing import check_rules, read_files, run_rules, write_files

FUTURE_METHOD = '''

    @abstractmethod
    async def load_thread_summary(self, thread_id: str, context: TContext) -> str:
        """A future SDK's new abstract method."""
        pass
'''


def _complete_store() -> str:
    rule = load_rules()["CK301"]
    return next(case for case in rule.valid if case.name == "complete store").files["backend/app/memory_store.py"]


@pytest.fixture
def isolated_facts(tmp_path, monkeypatch):
    """A fresh facts cache on disk and in memory, restored afterwards."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(sdk.SDK_PATH_ENV, raising=False)
    sdk._facts_for.cache_clear()
    yield tmp_path
    sdk._facts_for.cache_clear()


@pytest.fixture
def future_sdk(isolated_facts) -> Path:
    """A copy of the installed chatkit whose Store has one more abstract method."""
    spec = importlib.util.find_spec("chatkit")
    assert spec is not None and spec.submodule_search_locations, "openai-chatkit must be installed for this test"
    installed = Path(next(iter(spec.submodule_search_locations)))
    folder = isolated_facts / "future-sdk"
    shutil.copytree(installed, folder / "chatkit", ignore=shutil.ignore_patterns("__pycache__"))
    store_py = folder / "chatkit" / "store.py"
    store_py.write_text(store_py.read_text() + FUTURE_METHOD)
    return folder


def test_installed_contract_is_read_at_run_time(isolated_facts):
    facts = sdk.chatkit_facts()
    assert facts["origin"].startswith("installed openai-chatkit")
    contract = store_analysis.contract()
    abstract = [m.name for m in contract.abstract]
    assert "load_thread_items" in abstract and "delete_attachment" in abstract
    items = contract.by_name["load_thread_items"]
    assert items.params == ("thread_id", "after", "limit", "order", "context")
    assert items.returns == "Page[ThreadItem]" and items.is_async
    assert not contract.by_name["generate_item_id"].is_async
    assert list(isolated_facts.joinpath("cache", "chatkit-fix").glob("facts-*.json")), "facts are cached on disk"


def test_future_sdk_method_is_asked_for_without_code_change(future_sdk, tmp_path, monkeypatch):
    monkeypatch.setenv(sdk.SDK_PATH_ENV, str(future_sdk))
    facts = sdk.chatkit_facts()
    assert str(future_sdk) in facts["origin"]
    assert "load_thread_summary" in [m["name"] for m in facts["store_methods"] if m["abstract"]]

    project = tmp_path / "project"
    files = {"backend/app/memory_store.py": _complete_store()}
    write_files(project, files)
    found = [f for f in check_rules(project, {"CK301"}).findings if f.code == "CK301"]
    assert len(found) == 1 and "load_thread_summary" in found[0].message

    run_rules(project, {"CK301"})
    after = read_files(project, files)["backend/app/memory_store.py"]
    assert "    async def load_thread_summary(self, thread_id: str, context: dict) -> str:\n        raise NotImplementedError\n" in after
    assert "chatkit-fix: TODO[CK301] implement load_thread_summary" in after
    assert not run_rules(project, {"CK301"}).fixed, "a second apply changes nothing"


def test_cache_key_follows_the_sdk_files(future_sdk, monkeypatch):
    """Editing the SDK (a new release in place, a different folder) gives new facts, not the cached ones."""
    monkeypatch.setenv(sdk.SDK_PATH_ENV, str(future_sdk))
    before = sdk.chatkit_facts()
    store_py = future_sdk / "chatkit" / "store.py"
    store_py.write_text(store_py.read_text().replace("load_thread_summary", "load_thread_digest"))
    sdk._facts_for.cache_clear()
    after = sdk.chatkit_facts()
    names_before = {m["name"] for m in before["store_methods"]}
    names_after = {m["name"] for m in after["store_methods"]}
    assert "load_thread_summary" in names_before and "load_thread_digest" in names_after


def test_the_newest_measured_release_when_chatkit_is_not_importable(isolated_facts, monkeypatch):
    from chatkit_fix import versions

    monkeypatch.setattr(sdk, "_chatkit_location", lambda extra_path: None)
    facts = sdk.chatkit_facts()
    newest = versions.facts()[sdk.CONTRACT_FACT]["ranges"][-1]["measured"][-1]
    assert facts["origin"].startswith(f"measured facts of openai-chatkit {newest}, the newest known release")
    contract = store_analysis.contract()
    assert contract.by_name["load_threads"].params == ("limit", "after", "order", "context")
    assert contract.annotation_modules["Page"] == "chatkit.types"


def test_a_project_folder_named_chatkit_does_not_shadow_the_sdk(isolated_facts, tmp_path, monkeypatch):
    shadow = tmp_path / "work"
    (shadow / "chatkit").mkdir(parents=True)
    (shadow / "chatkit" / "__init__.py").write_text("raise ImportError('local package')\n")
    monkeypatch.chdir(shadow)
    facts = sdk.probe_in_subprocess()
    assert facts is not None and facts["origin"].startswith("installed openai-chatkit")


def test_verbose_names_the_sdk_origin(isolated_facts, tmp_path):
    from click.testing import CliRunner

    from chatkit_fix.cli import main

    (tmp_path / "app.py").write_text("x = 1\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--verbose"])
    assert "chatkit SDK: installed openai-chatkit" in result.output + (result.stderr if result.stderr_bytes else "")


def test_a_declared_release_is_judged_by_its_measured_contract(isolated_facts, tmp_path):
    from chatkit_fix.config import load_settings
    from chatkit_fix.project import Project

    write_files(tmp_path, {"a/requirements.txt": "openai-chatkit==1.6.5\n", "a/store.py": "",
                           "b/requirements.txt": "openai-chatkit==0.0.2\n", "b/store.py": ""})
    project = Project.discover(tmp_path, load_settings(tmp_path), [tmp_path])
    declared = store_analysis.contract(project, tmp_path / "a/store.py")
    assert declared.origin == "measured facts of openai-chatkit 1.6.5 (pinned in a/requirements.txt (openai-chatkit==1.6.5))"
    assert declared.by_name["load_thread_items"].params == ("thread_id", "after", "limit", "order", "context")
    unmeasured = store_analysis.contract(project, tmp_path / "b/store.py")
    assert unmeasured.origin.startswith("installed openai-chatkit") and "no facts were measured for openai-chatkit 0.0.2" in unmeasured.origin
