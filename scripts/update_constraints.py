"""Re-resolve the pinned test set on purpose: `python scripts/update_constraints.py`.

Builds a scratch virtualenv, installs chatkit-fix with its test extras at the newest releases the registry serves
(no constraints), and writes `pip freeze` to constraints/test.txt with the date. scripts/test.sh installs exactly
that set (`pip install -c constraints/test.txt`), and the version matrix (tests/versions/) resolves its environments
as of that date, so a release on the registry cannot turn the suite red overnight. Run the suite afterwards
(`bash scripts/test.sh`) and commit the file only when it is green; `git diff constraints/` shows what moved.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO / "constraints" / "test.txt"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="chatkit-fix-constraints-") as scratch:
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True, env=env)
        subprocess.run([python, "-m", "pip", "install", "-q", f"{REPO}[test]"], check=True, env=env)
        frozen = subprocess.run([python, "-m", "pip", "freeze", "--all", "--exclude", "chatkit-fix", "--exclude", "pip"],
                                check=True, env=env,
                                capture_output=True, text=True).stdout
    pins = sorted((line for line in frozen.splitlines() if "==" in line), key=str.lower)
    header = [
        "# The tested set of every package the test suite installs: scripts/test.sh runs `pip install -c` with it.",
        "# Update on purpose with `python scripts/update_constraints.py`, then run `bash scripts/test.sh`.",
        f"# resolved: {datetime.date.today().isoformat()}",
    ]
    CONSTRAINTS.parent.mkdir(exist_ok=True)
    tmp = CONSTRAINTS.with_suffix(".tmp")
    tmp.write_text("\n".join(header + pins) + "\n")
    os.replace(tmp, CONSTRAINTS)
    print(f"wrote {CONSTRAINTS.relative_to(REPO)}: {len(pins)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
