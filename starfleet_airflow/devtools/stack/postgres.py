"""The metadata database: PostgreSQL 15 from PATH, initialised into the stack's state folder.

PostgreSQL refuses to run as root, and these machines run as root: the cluster is then created and run
as the ``postgres`` user (Debian's package creates it), which owns the data folder. The server listens
on 127.0.0.1 only, with trust authentication for the ``airflow`` role: a throwaway local database.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from starfleet_airflow.devtools.stack.settings import HOST, StackError, StackSettings

SERVER_USER = "postgres"
MAX_CONNECTIONS = 200  # two workers x concurrency + scheduler, api-server, dag-processor, triggerer pools


def data_dir(settings: StackSettings) -> Path:
    return settings.state / "postgres" / "data"


def socket_dir(settings: StackSettings) -> Path:
    return settings.state / "postgres" / "socket"


def run_as() -> str | None:
    """The user to run the server as: ``postgres`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise StackError(
            f"PostgreSQL cannot run as root and there is no {SERVER_USER!r} user; create one"
            f" (useradd --system {SERVER_USER}) or run scripts/stack.sh as another user"
        ) from None
    return SERVER_USER


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise StackError(f"{name} not found on PATH; install PostgreSQL 15 (apt-get install postgresql-15)")
    return found


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def initialise(settings: StackSettings, log_path: Path) -> bool:
    """Create the cluster when its folder is empty; True when it was created now."""
    data, sock = data_dir(settings), socket_dir(settings)
    if (data / "PG_VERSION").is_file():
        return False
    user = run_as()
    for folder in (data.parent, data, sock):
        folder.mkdir(parents=True, exist_ok=True)
        _chown(folder, user)
    data.chmod(0o700)
    argv = [_binary("initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8", "--no-instructions"]
    with open(log_path, "ab") as log:
        done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, user=user, cwd=data.parent, check=False)
    if done.returncode != 0:
        raise StackError(f"initdb failed (exit code {done.returncode}); see {log_path}")
    return True


def server_argv(settings: StackSettings) -> list[str]:
    return [
        _binary("postgres"),
        "-D",
        str(data_dir(settings)),
        "-h",
        HOST,
        "-p",
        str(settings.ports["postgres"]),
        "-k",
        str(socket_dir(settings)),
        "-c",
        f"max_connections={MAX_CONNECTIONS}",
    ]


def create_database(settings: StackSettings) -> None:
    """The ``airflow`` database, created once (the server must be accepting connections)."""
    import psycopg2

    connection = psycopg2.connect(host=HOST, port=settings.ports["postgres"], user="airflow", dbname="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'airflow'")
            if cursor.fetchone() is None:
                cursor.execute("CREATE DATABASE airflow")
    finally:
        connection.close()


def accepts_connections(settings: StackSettings) -> bool:
    import psycopg2

    try:
        psycopg2.connect(
            host=HOST, port=settings.ports["postgres"], user="airflow", dbname="postgres", connect_timeout=2
        ).close()
    except psycopg2.OperationalError:
        return False
    return True
