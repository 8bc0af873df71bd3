"""A throwaway PostgreSQL cluster in a temporary folder, for the PostgreSQL store's boot test.

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system
user. When no server binaries are installed the caller gets a reason to skip with.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatkit_fix.verify.processes import free_port


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why."""


def server_binaries() -> Path:
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise PostgresUnavailable("no initdb found (install the postgresql package)")
    return Path(candidates[-1]).parent


def run_as_owner(command: list[str], owner: str | None) -> None:
    full = ["runuser", "-u", owner, "--", *command] if owner else command
    completed = subprocess.run(full, check=False, capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(command[:2])} failed: {completed.stdout}{completed.stderr}")


@contextlib.contextmanager
def temporary_postgres() -> Iterator[str]:
    """Start a cluster on a free loopback port and yield its DATABASE_URL; remove it all afterwards."""
    binaries = server_binaries()
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no `postgres` user to run the server") from None
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root and `runuser` is missing")
        owner = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="chatkit-pg-"))
    data = folder / "data"
    port = free_port()
    if owner:
        shutil.chown(folder, user=owner)
    try:
        run_as_owner([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"], owner)
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run_as_owner(
            [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"], owner
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run_as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], owner)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str, name: str) -> str:
    """Create an empty database `name` on the server and return its URL, so tests never share tables."""
    import asyncio

    import asyncpg

    async def create() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    """A running cluster's URL for the tests of one module; they skip, saying why, when none can start."""
    try:
        cluster = temporary_postgres()
        url = cluster.__enter__()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield url
    finally:
        cluster.__exit__(None, None, None)
