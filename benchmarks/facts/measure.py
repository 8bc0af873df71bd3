"""Measure the version-dependent facts by running the packages, and record where each holds.

    python benchmarks/facts/measure.py                       # every fact, every known release in its range
    python benchmarks/facts/measure.py chatcmpl-rejects-output-text-history --releases ">=0.20"

Each fact is a script beside this one (`FACT`, `PACKAGE`, `RELEASES`, `WITH`, optional `FAKE_OPENAI`, and a
`measure()` that runs inside an environment holding one release). For a release of `PACKAGE` in `RELEASES`
(chatkit_fix/data/releases.json) the driver builds a cached virtualenv (envs.py) with that release and `WITH`,
resolved as of the day the release was published (the dependencies its users had then: a newer openai or pydantic
breaks many old releases before the behaviour measured is reached), runs the script there and reads the JSON it
prints: `{"value": ..., "detail": ...}`, or `{"unusable": why}` when the environment cannot even run the setup (then
it tries again with the dependencies of the day constraints/test.txt was resolved).

Which releases: the newest patch of every minor release in the range (and the oldest release), then, between two
neighbours that disagree, the releases in between by bisection down to two adjacent releases, so each boundary is
confirmed on both sides; `--every` measures every release instead. The results group into contiguous ranges of
equal value, written with the releases actually measured, the date and the command to
chatkit_fix/data/version-facts.json, which is all the rules read. Answers are cached per release under
.cache/facts/ (keyed by the script's text), so a second run only measures what changed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from envs import CACHE, EnvError, env_for, published, resolved_date  # noqa: E402

FACTS = REPO / "chatkit_fix" / "data" / "version-facts.json"
RELEASES = REPO / "chatkit_fix" / "data" / "releases.json"
QUIET_AGENTS = {"OPENAI_AGENTS_DISABLE_TRACING": "1", "OPENAI_AGENTS_DONT_LOG_MODEL_DATA": "1"}


@dataclass
class Experiment:
    fact: str
    package: str
    releases: str
    script: Path
    with_: list[str] = field(default_factory=list)
    fake_openai: bool = False

    @classmethod
    def load(cls, module: ModuleType, script: Path) -> Experiment:
        return cls(module.FACT, module.PACKAGE, module.RELEASES, script, list(getattr(module, "WITH", [])),
                   bool(getattr(module, "FAKE_OPENAI", False)))


def experiments() -> dict[str, Experiment]:
    """Every fact script beside this file, by fact name (importing one runs no SDK: `measure()` imports them)."""
    found = {}
    for script in sorted(HERE.glob("*.py")):
        if "\nFACT = " not in script.read_text():
            continue
        spec = importlib.util.spec_from_file_location(f"fact_{script.stem}", script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "FACT") and hasattr(module, "measure"):
            found[module.FACT] = Experiment.load(module, script)
    return found


def known_releases(package: str, within: str) -> list[str]:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    listed = json.loads(RELEASES.read_text())["packages"].get(package, [])
    spec = SpecifierSet(within)
    return sorted((v for v in listed if spec.contains(v)), key=Version)


def run_once(experiment: Experiment, release: str, as_of: str | None) -> dict:
    """The experiment's answer for one release, from a fresh interpreter in that release's environment."""
    companions = tuple(requirement.split("==")[0] for requirement in experiment.with_)
    try:
        python = env_for([f"{experiment.package}=={release}", *experiment.with_], as_of, companions)
    except EnvError as exc:
        return {"unusable": f"cannot install: {str(exc).strip().splitlines()[-1][:200]}"}
    return run_in(experiment, python)


def run_in(experiment: Experiment, python: Path) -> dict:
    """The experiment's answer from a fresh interpreter of the environment of `python`."""
    env = {**os.environ, **QUIET_AGENTS}
    env.pop("PYTHONPATH", None)
    with _fake_openai(experiment.fake_openai) as fake_env:
        env.update(fake_env)
        completed = subprocess.run([str(python), str(experiment.script)], capture_output=True, text=True, env=env,
                                   timeout=300, cwd=experiment.script.parent)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        return {"unusable": f"the script failed: {completed.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def measure_release(experiment: Experiment, release: str) -> dict:
    import hashlib

    texts = [experiment.script.read_text(), Path(__file__).read_text(), (HERE / "envs.py").read_text()]
    texts += [p.read_text() for p in sorted(HERE.glob("_*.py"))]
    key = hashlib.sha256("\n".join([*texts, release, *experiment.with_, str(resolved_date())]).encode()).hexdigest()
    cached = CACHE / "facts" / experiment.fact / f"{release}-{key[:12]}.json"
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass
    answer = _measure_release(experiment, release)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(answer))
    return answer


def _measure_release(experiment: Experiment, release: str) -> dict:
    """As of the day the release was published, else with the dependencies of the suite's resolution day."""
    day = published(experiment.package, release)
    answer = run_once(experiment, release, day) if day else {"unusable": "no publication date"}
    answer["environment"] = f"as of {day}"
    if "unusable" in answer:
        retried = run_once(experiment, release, "resolved")
        if "unusable" not in retried:
            retried["environment"] = f"as of {resolved_date()}"
            return retried
    return answer


@contextlib.contextmanager
def _fake_openai(wanted: bool):
    if not wanted:
        yield {}
        return
    from chatkit_fix.verify.fake_openai import FakeOpenAI

    with FakeOpenAI() as fake:
        yield fake.env()


def grid(releases: list[str]) -> list[str]:
    """The oldest release and the newest patch of each minor release."""
    from packaging.version import Version

    newest: dict[tuple[int, ...], str] = {}
    for release in releases:
        newest[Version(release).release[:2]] = release
    return sorted({releases[0], *newest.values()}, key=Version)


def measure_all(experiment: Experiment, releases: list[str], every: bool, jobs: int) -> dict[str, dict]:
    """Measure the grid (or every release), then bisect between neighbours whose values differ."""
    from concurrent.futures import ThreadPoolExecutor

    results: dict[str, dict] = {}

    def run(batch: list[str]) -> None:
        batch = [r for r in batch if r not in results]
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            for release, answer in zip(batch, pool.map(lambda r: measure_release(experiment, r), batch)):
                results[release] = answer
                shown = answer.get("value", "unusable: " + answer.get("unusable", ""))
                print(f"{experiment.fact} {experiment.package}=={release}: {json.dumps(shown)[:120]}", flush=True)

    run(releases if every else grid(releases))
    while True:
        usable = [r for r in releases if r in results and "unusable" not in results[r]]
        middles = []
        for lower, upper in zip(usable, usable[1:]):
            between = releases[releases.index(lower) + 1:releases.index(upper)]
            between = [r for r in between if r not in results]
            if between and not _same(results[lower]["value"], results[upper]["value"]):
                middles.append(between[len(between) // 2])
        if not middles:
            return results
        run(middles)


def ranges(results: dict[str, dict]) -> list[dict]:
    """Contiguous runs of releases with the same value (unusable ones are left out and listed apart).

    A range starts at its first measured release and ends before the next range's first; the last one is open
    above: a release newer than the measurement is taken to behave as the newest measured, until the drift report
    (drift.py) says otherwise.
    """
    from packaging.version import Version

    measured = sorted((v for v, r in results.items() if "unusable" not in r), key=Version)
    runs: list[dict] = []
    for release in measured:
        value = results[release]["value"]
        if runs and _same(runs[-1]["value"], value):
            runs[-1]["releases"].append(release)
            continue
        runs.append({"value": value, "releases": [release], "detail": results[release].get("detail")})
    for index, run in enumerate(runs):
        upper = f",<{runs[index + 1]['releases'][0]}" if index + 1 < len(runs) else ""
        run["spec"] = f">={run['releases'][0]}{upper}"
    return [{"spec": r["spec"], "value": r["value"], "measured": r["releases"], "detail": r["detail"]} for r in runs]


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def record(experiment: Experiment, results: dict[str, dict], command: str) -> dict:
    entry = {
        "package": experiment.package,
        "with": experiment.with_,
        "measured": datetime.date.today().isoformat(),
        "command": command,
        "script": experiment.script.relative_to(REPO).as_posix(),
        "ranges": ranges(results),
        "unusable": {v: r["unusable"] for v, r in results.items() if "unusable" in r},
        "environments": {v: r.get("environment") for v, r in results.items() if "unusable" not in r},
    }
    import fcntl

    with open(_lock_path(), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two drivers at once must not drop each other's facts
        document = json.loads(FACTS.read_text()) if FACTS.exists() else {"facts": {}}
        document["facts"][experiment.fact] = entry
        document["facts"] = dict(sorted(document["facts"].items()))
        tmp = FACTS.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=1) + "\n")
        os.replace(tmp, FACTS)
    return entry


def _lock_path() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    return CACHE / "version-facts.lock"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("facts", nargs="*", help="fact names (default: all)")
    parser.add_argument("--releases", help="measure only the releases in this specifier (still within the fact's)")
    parser.add_argument("--print-only", action="store_true", help="print the results, record nothing")
    parser.add_argument("--jobs", type=int, default=2, help="releases measured at once (default 2)")
    parser.add_argument("--every", action="store_true", help="measure every release, not the grid and bisection")
    options = parser.parse_args(argv)
    found = experiments()
    unknown = [name for name in options.facts if name not in found]
    if unknown:
        print(f"unknown fact(s): {', '.join(unknown)}; known: {', '.join(sorted(found))}", file=sys.stderr)
        return 2
    for name in options.facts or sorted(found):
        experiment = found[name]
        releases = known_releases(experiment.package, experiment.releases)
        if options.releases:
            from packaging.specifiers import SpecifierSet

            releases = [r for r in releases if SpecifierSet(options.releases).contains(r)]
        results = measure_all(experiment, releases, options.every or bool(options.releases), options.jobs)
        if options.print_only or options.releases:
            continue  # a partial measurement never replaces the recorded ranges
        command = f"python benchmarks/facts/measure.py {name}" + (" --every" if options.every else "")
        entry = record(experiment, results, command)
        for run in entry["ranges"]:
            print(f"  {experiment.package}{run['spec']}: {json.dumps(run['value'])[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
