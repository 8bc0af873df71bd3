"""Which recorded facts the newest releases contradict.

    python benchmarks/facts/drift.py

Asks the registries for the newest releases of openai-chatkit, openai-agents and mcp (pip) and of
@openai/chatkit-react (npm), installs them into scratch environments with the newest dependencies (cached under
.cache/envs/), runs every fact experiment there and prints, per fact, the value the rules use for that release
(chatkit_fix/data/version-facts.json) beside the one measured now. For the front end it installs the newest
@openai/chatkit-react and compares the option names its @openai/chatkit types declare with the ones CK106 bundles.
Exits 1 when a fact changed: then measure it again (`python benchmarks/facts/measure.py FACT`) after recording the
releases (`python benchmarks/facts/releases.py`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import measure  # noqa: E402
import releases  # noqa: E402
from envs import EnvError, env_for  # noqa: E402

from chatkit_fix import versions  # noqa: E402


def recorded_value(fact: str, release: str):
    from packaging.version import Version

    for measured in versions.facts()[fact]["ranges"]:
        if versions.specifier_sets(measured["spec"])[0].contains(Version(release), prereleases=True):
            return measured["value"], measured["spec"]
    return None, "no measured range"


def python_drift(newest: dict[str, str]) -> int:
    changed = 0
    for fact, experiment in sorted(measure.experiments().items()):
        release = newest[experiment.package]
        companions = []
        for requirement in experiment.with_:
            name, _, pinned = requirement.partition("==")
            companions.append(f"{name}=={newest.get(name, pinned)}")
        try:
            python = env_for([f"{experiment.package}=={release}", *companions], as_of=None)
        except EnvError as exc:
            print(f"{fact}: cannot install {experiment.package}=={release} {' '.join(companions)}: {exc}")
            changed += 1
            continue
        with measure._fake_openai(experiment.fake_openai) as fake_env:
            import os

            os.environ.update(fake_env)
            answer = measure.run_in(experiment, python)
        was, spec = recorded_value(fact, release)
        if "unusable" in answer:
            print(f"{fact}: {experiment.package}=={release} cannot run the experiment: {answer['unusable']}")
            changed += 1
        elif json.dumps(answer["value"], sort_keys=True) == json.dumps(was, sort_keys=True):
            print(f"{fact}: unchanged for {experiment.package}=={release} (recorded range {spec})")
        else:
            changed += 1
            print(f"{fact}: CHANGED for {experiment.package}=={release}: recorded {json.dumps(was)[:150]} "
                  f"(range {spec}), now {json.dumps(answer['value'])[:150]}")
    return changed


def npm_drift() -> int:
    from chatkit_fix.codemods import ck106_invalid_api_options as ck106

    newest = releases.npm_releases("@openai/chatkit-react")[-1]
    with tempfile.TemporaryDirectory(prefix="chatkit-fix-drift-") as scratch:
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", scratch,
                        f"@openai/chatkit-react@{newest}"], check=True, capture_output=True)
        types = Path(scratch) / "node_modules" / "@openai" / "chatkit" / "types" / "index.d.ts"
        chatkit = json.loads((types.parent.parent / "package.json").read_text())["version"]
        schema = ck106._read_types(types)
    bundled = ck106.Schema(ck106.BUNDLED_OPTIONS, ck106.BUNDLED_EVENTS, ck106.BUNDLED_CUSTOM_API,
                           ck106.BUNDLED_HOSTED_API, "bundled")
    if schema is None:
        print(f"@openai/chatkit-react {newest} (@openai/chatkit {chatkit}): its types cannot be read")
        return 1
    differences = {name: sorted(getattr(schema, name) ^ getattr(bundled, name)) for name in ("options", "handlers", "api")}
    if not any(differences.values()):
        print(f"chatkit-js options (CK106): unchanged for @openai/chatkit-react {newest} (@openai/chatkit {chatkit})")
        return 0
    print(f"chatkit-js options (CK106): CHANGED for @openai/chatkit-react {newest} (@openai/chatkit {chatkit}): "
          + "; ".join(f"{name} differ in {', '.join(names)}" for name, names in differences.items() if names))
    return 1


def main() -> int:
    newest = {name: releases.pypi_releases(name)[-1] for name in releases.PYTHON_PACKAGES}
    known = {name: versions.known_releases(name)[-1] for name in newest}
    for name, release in newest.items():
        note = "" if release == known[name] else f" (newer than the recorded {known[name]})"
        print(f"newest {name}: {release}{note}")
    changed = python_drift(newest) + npm_drift()
    print(f"{changed} fact(s) changed" if changed else "no fact changed")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
