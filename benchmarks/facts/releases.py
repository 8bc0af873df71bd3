"""Record the known releases of the packages whose facts chatkit-fix judges by version.

    python benchmarks/facts/releases.py

asks pip (`pip index versions`) and npm (`npm view NAME versions`) and writes `chatkit_fix/data/releases.json` with
the date. "An unbounded pin means the newest release" is read against this list: the newest known release that
satisfies the project's specifier.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RELEASES = REPO / "chatkit_fix" / "data" / "releases.json"
PYTHON_PACKAGES = ("openai-chatkit", "openai-agents", "mcp")
NPM_PACKAGES = ("@openai/chatkit-react", "@openai/chatkit")


def pypi_releases(name: str) -> list[str]:
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name, "--disable-pip-version-check"],
        capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r"Available versions: (.+)", listing)
    if match is None:
        raise SystemExit(f"pip index versions {name}: no version list in its output:\n{listing}")
    return _sorted(v.strip() for v in match.group(1).split(","))


def npm_releases(name: str) -> list[str]:
    listing = subprocess.run(["npm", "view", name, "versions", "--json"], capture_output=True, text=True, check=True)
    found = json.loads(listing.stdout)
    return _sorted([found] if isinstance(found, str) else found)


def _sorted(versions) -> list[str]:
    from packaging.version import InvalidVersion, Version

    valid = []
    for text in versions:
        try:
            valid.append((Version(text), text))
        except InvalidVersion:
            continue
    return [text for _, text in sorted(valid)]


def main() -> None:
    packages = {name: pypi_releases(name) for name in PYTHON_PACKAGES}
    packages.update({name: npm_releases(name) for name in NPM_PACKAGES})
    document = {
        "measured": datetime.date.today().isoformat(),
        "command": "python benchmarks/facts/releases.py",
        "npm": list(NPM_PACKAGES),
        "packages": packages,
    }
    lines = [f"  {json.dumps(name)}: {json.dumps(versions)}" for name, versions in packages.items()]
    header = json.dumps({k: v for k, v in document.items() if k != "packages"}, indent=1)[:-2]
    RELEASES.write_text(header + ',\n "packages": {\n' + ",\n".join(lines) + "\n }\n}\n")
    for name, versions in packages.items():
        print(f"{name}: {len(versions)} releases, newest {versions[-1]}")


if __name__ == "__main__":
    main()
