"""Issue 22's CK405 repro end to end: `init`'s back end with the wildcard-and-credentials advice pasted in, fixed by
`apply --unsafe-fixes`, keeps the project's settings object and passes `verify`'s CORS checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scaffold_support.projects import generate

from chatkit_fix.verify.command import CommandOptions, run

pytestmark = pytest.mark.slow


def test_ck405_fix_on_init_output_keeps_settings_and_passes_verify(tmp_path: Path):
    generate(tmp_path, framework="none", mcp=False)
    main = tmp_path / "backend" / "main.py"
    generated = main.read_text()
    main.write_text(generated.replace("    allow_origins=settings.cors_origins,\n",
                                      '    allow_origins=["*"],\n    allow_credentials=True,\n'))
    applied = subprocess.run([sys.executable, "-m", "chatkit_fix", "apply", "--unsafe-fixes", "--no-color", "."],
                             cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert main.read_text() == generated  # settings.cors_origins again: no os.environ, no `import os`

    out: list[str] = []
    code = run(CommandOptions(path=tmp_path, output_format="json", timeout=90.0), echo=out.append, echo_err=lambda _: None)
    report = json.loads("".join(out))
    checks = {check["id"]: check for check in report["checks"]}
    assert checks["cors.allowed_origin"]["status"] == "pass", checks["cors.allowed_origin"]
    assert checks["cors.foreign_origin"]["status"] == "pass", checks["cors.foreign_origin"]
    assert not any("CK406" in check["rules"] for check in report["checks"])
    assert code == 0
