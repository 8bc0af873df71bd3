"""Suite-wide rules: under CI=true a skipped test is a failure, because CI must prove everything it claims. That holds
for a whole module skipped while it is collected (`pytest.importorskip` or `pytest.skip(allow_module_level=True)` at
module level) too: its skip becomes one failing test, and the rest of the run goes on."""

from __future__ import annotations

import os

import pytest

UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reason(longrepr) -> str:
    return longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if UNDER_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {_reason(report.longrepr)}"


class SkippedAtCollection(pytest.Item):
    """Stands for a module that skipped itself at collection: running it fails with the skip's reason."""

    def __init__(self, *, reason: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.reason = reason

    def runtest(self) -> None:
        pytest.fail(f"{self.parent.name} skipped at collection under CI=true, which counts as a failure: {self.reason}",
                    pytrace=False)

    def reportinfo(self):
        return self.path, None, f"{self.parent.name} (skipped at collection)"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if UNDER_CI and report.skipped and isinstance(collector, pytest.Module):
        report.outcome = "passed"
        report.result = [SkippedAtCollection.from_parent(collector, name="skipped-at-collection",
                                                         reason=_reason(report.longrepr))]
        report.longrepr = None
