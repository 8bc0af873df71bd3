"""CK403 proven by booting: the fixture back end serves a request without a token as "anonymous"; after
`chatkit-fix apply --unsafe-fixes` the same request gets 401, a bad token gets 401, and a valid token still works.

The back end runs under uvicorn on 127.0.0.1 (a free port); its `respond()` yields a message by hand, so no model is
needed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from chatkit_fix.verify.processes import running_uvicorn
from chatkit_fix.verify.protocol import ChatKitClient, threads_create

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "projects" / "boot_auth"
SHARED_STORE = Path(__file__).parent / "projects" / "boot" / "_shared" / "store.py"  # the boot fixtures' store
SECRET = "boot-auth-test-secret-of-at-least-32-bytes"
ENV = {"JWT_SECRET": SECRET}


def _token(sub: str = "u1", secret: str = SECRET) -> str:
    return jwt.encode({"sub": sub}, secret, algorithm="HS256")


@pytest.fixture
def backend(tmp_path: Path) -> Path:
    target = tmp_path / "backend"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SHARED_STORE, target / "store.py")
    return target


def _post(server, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with ChatKitClient(server.url, headers=headers, stream_deadline=30) as client:
        return client.stream(threads_create("hello"))


def test_anonymous_fallback_answers_401_after_the_fix(backend: Path):
    with running_uvicorn("main:app", backend, env=ENV) as server:
        anonymous = _post(server, None)
        assert anonymous.ok, anonymous.summary()
        assert anonymous.assistant_text() == "hello anonymous"  # the bug: no token, still served
        forged = _post(server, _token(secret="not-the-server-secret-but-32-bytes-long"))
        assert forged.ok and forged.assistant_text() == "hello anonymous", forged.summary()

    applied = subprocess.run(
        [sys.executable, "-m", "chatkit_fix", "apply", "--unsafe-fixes", str(backend)],
        check=False, cwd=backend, capture_output=True, text=True, timeout=120,
    )
    assert applied.returncode in (0, 1), applied.stdout + applied.stderr
    source = (backend / "main.py").read_text()
    assert "status_code=401" in source, applied.stdout
    assert 'user_id = "anonymous"' not in source

    again = subprocess.run(
        [sys.executable, "-m", "chatkit_fix", "apply", "--unsafe-fixes", str(backend)],
        check=False, cwd=backend, capture_output=True, text=True, timeout=120,
    )
    assert (backend / "main.py").read_text() == source, again.stdout  # a second apply changes nothing

    with running_uvicorn("main:app", backend, env=ENV) as server:
        missing = _post(server, None)
        assert missing.status == 401, missing.summary()
        forged = _post(server, _token(secret="not-the-server-secret-but-32-bytes-long"))
        assert forged.status == 401, forged.summary()
        valid = _post(server, _token("u1"))
        assert valid.ok, valid.summary()
        assert valid.assistant_text() == "hello u1"
