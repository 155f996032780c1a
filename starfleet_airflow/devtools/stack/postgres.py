"""The metadata database: PostgreSQL 15 from PATH, initialised into the stack's state folder.

PostgreSQL refuses to run as root, and these machines run as root: the cluster is then created and run
as the ``postgres`` user (Debian's package creates it), which owns the data folder. The server listens
on 127.0.0.1 only, with trust authentication for the ``airflow`` role: a throwaway local database.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from starfleet_airflow.devtools.stack.settings import HOST, StackError, StackSettings

SERVER_USER = "postgres"
MAX_CONNECTIONS = 200  # two workers x concurrency + scheduler, api-server, dag-processor, triggerer pools


def _traversable_by(user: str, path: Path) -> bool:
    """True when ``user`` may enter every folder from / down to ``path`` (mode bits, as the kernel checks)."""
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid, *(g.gr_gid for g in grp.getgrall() if user in g.gr_mem)}
    for folder in [*reversed(path.parents), path]:
        if not folder.exists():
            continue
        info = folder.stat()
        if info.st_uid == entry.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def cluster_dir(settings: StackSettings) -> Path:
    """``<state>/postgres``, or a folder under /var/tmp when the server's user cannot reach the checkout.

    A checkout under /root (mode 700) cannot be entered by the ``postgres`` user; its cluster then lives
    in ``/var/tmp/starfleet-stack-<hash of the state folder>/`` (``down`` leaves it, like the state folder).
    """
    preferred = settings.state / "postgres"
    user = run_as()
    if user is None or _traversable_by(user, settings.state):
        return preferred
    digest = hashlib.sha256(str(settings.state).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"starfleet-stack-{digest}" / "postgres"


def data_dir(settings: StackSettings) -> Path:
    return cluster_dir(settings) / "data"


def socket_dir(settings: StackSettings) -> Path:
    return cluster_dir(settings) / "socket"


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
    for folder in (data.parent.parent, data.parent, data, sock):
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
