"""Every recorded fact, measured again where its value changes: for each range of chatkit_fix/data/version-facts.json,
its oldest and newest measured release are installed (each in its own cached virtualenv, resolved as of the day it
was measured in) and the fact's experiment (benchmarks/facts/) must give the recorded value. So the releases where a
version-gated rule fires are shown, by running the package, to fail, and the ones where it is silent not to."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from matrix import REPO

from chatkit_fix import versions

_spec = importlib.util.spec_from_file_location("chatkit_fix_fact_driver", REPO / "benchmarks" / "facts" / "measure.py")
measure = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = measure
_spec.loader.exec_module(measure)


def boundaries(entry: dict) -> list[str]:
    """The oldest and the newest measured release of each range."""
    picks: list[str] = []
    for measured in entry["ranges"]:
        for release in (measured["measured"][0], measured["measured"][-1]):
            if release not in picks:
                picks.append(release)
    return picks


FACTS = versions.facts()
CASES = [(fact, release) for fact, entry in sorted(FACTS.items()) for release in boundaries(entry)]


def test_every_fact_has_its_experiment_and_every_experiment_is_recorded():
    assert set(measure.experiments()) == set(FACTS)


@pytest.mark.parametrize(("fact", "release"), CASES, ids=[f"{fact}-{release}" for fact, release in CASES])
def test_the_release_does_what_is_recorded(fact: str, release: str):
    entry = FACTS[fact]
    recorded = next(r["value"] for r in entry["ranges"] if release in r["measured"])
    environment = entry["environments"][release]
    assert environment.startswith("as of ")
    answer = measure.run_once(measure.experiments()[fact], release, environment.removeprefix("as of "))
    assert "unusable" not in answer, answer
    assert answer["value"] == recorded, f"{entry['package']}=={release}: {answer}"
