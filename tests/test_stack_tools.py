"""The stack's own tools, on real processes and files: start/find/stop by pid (children included), the frozen
kill, stack.env round trip, port settings, the postgres user's reach. The stack itself: tests/e2e."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from starfleet_airflow.devtools.stack import processes
from starfleet_airflow.devtools.stack.settings import (
    PORT_VARIABLES,
    StackError,
    StackSettings,
    read_env_file,
    write_env_file,
)

# A parent that forks a child, both sleeping: what a Celery worker with its pool looks like to `down`.
FAMILY = "import os, time\nif os.fork() == 0:\n    time.sleep(600)\nelse:\n    time.sleep(600)\n"


def _start_family(tmp_path: Path, name: str = "family") -> processes.Running:
    env = {"PATH": os.environ["PATH"]}
    return processes.start(tmp_path / "run", tmp_path / "logs", name, [sys.executable, "-c", FAMILY], env, tmp_path)


def _wait_for_children(pid: int, count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 10
    while len(children := psutil.Process(pid).children(recursive=True)) < count:
        assert time.monotonic() < deadline, "the child process never appeared"
        time.sleep(0.05)
    return children


def test_a_started_component_is_found_by_its_pid_file_and_stopped_with_its_children(tmp_path: Path) -> None:
    running = _start_family(tmp_path)
    child = _wait_for_children(running.pid, 1)[0]

    found = processes.find(tmp_path / "run", "family")
    assert found is not None and found.pid == running.pid and found.fingerprint == running.fingerprint
    assert processes.stop(tmp_path / "run", "family", grace=5) is True

    assert not psutil.pid_exists(running.pid) or psutil.Process(running.pid).status() == psutil.STATUS_ZOMBIE
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert processes.find(tmp_path / "run", "family") is None
    assert processes.stop(tmp_path / "run", "family") is False, "nothing left to stop"
    assert "starting:" in (tmp_path / "logs" / "family.log").read_text()


def test_a_pid_file_naming_another_process_is_not_taken_for_the_component(tmp_path: Path) -> None:
    running = _start_family(tmp_path)
    pid_file = tmp_path / "run" / "family.pid"
    text = pid_file.read_text()
    processes.stop(tmp_path / "run", "family", grace=5)
    # The same record, now pointing at this test's own pid (as if the pid had been reused).
    pid_file.write_text(text.replace(f'"pid": {running.pid}', f'"pid": {os.getpid()}'))

    assert processes.find(tmp_path / "run", "family") is None


def test_kill_tree_freezes_then_kills_the_whole_family(tmp_path: Path) -> None:
    running = _start_family(tmp_path)
    child = _wait_for_children(running.pid, 1)[0]

    killed = processes.kill_tree(tmp_path / "run", "family")

    assert set(killed) == {running.pid, child.pid}
    for pid in killed:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_the_fingerprint_follows_argv_env_and_folder_only() -> None:
    base = processes.fingerprint(["a", "b"], {"X": "1"}, Path("/w"))
    assert base == processes.fingerprint(["a", "b"], {"X": "1"}, Path("/w"))
    assert base != processes.fingerprint(["a", "c"], {"X": "1"}, Path("/w"))
    assert base != processes.fingerprint(["a", "b"], {"X": "2"}, Path("/w"))
    assert base != processes.fingerprint(["a", "b"], {"X": "1"}, Path("/v"))


def test_port_checks_see_a_listener_and_its_absence() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert processes.port_open(port)
        assert not processes.port_free("127.0.0.1", port)
    assert not processes.port_open(port)


def test_stack_env_round_trip_keeps_values_with_spaces_and_quotes(tmp_path: Path) -> None:
    values = {"AIRFLOW_PASSWORD": "a b'c\"d", "AIRFLOW_API_URL": "http://127.0.0.1:8080"}
    write_env_file(tmp_path / "stack.env", values, "header line")
    assert read_env_file(tmp_path / "stack.env") == values
    assert (tmp_path / "stack.env").stat().st_mode & 0o777 == 0o600


def test_ports_come_from_the_variables_and_a_running_stack_keeps_its_own(tmp_path: Path) -> None:
    state = tmp_path / "state"
    settings = StackSettings.from_environment({"STARFLEET_STACK_DIR": str(state), "STARFLEET_STACK_API_PORT": "9090"})
    assert settings.ports["api"] == 9090 and settings.api_url == "http://127.0.0.1:9090"
    write_env_file(state / "stack.env", {"STARFLEET_STACK_API_PORT": "9191"}, "running")
    again = StackSettings.from_environment({"STARFLEET_STACK_DIR": str(state), "STARFLEET_STACK_API_PORT": "9090"})
    assert again.ports["api"] == 9191, "down and status must reach the ports the stack was started with"
    assert 5000 not in again.ports.values(), "the demo's moto port stays free"
    assert set(again.ports) == set(PORT_VARIABLES)


@pytest.mark.parametrize("value", ["abc", "0", "-3"])
def test_a_bad_port_variable_is_refused_by_name(tmp_path: Path, value: str) -> None:
    environ = {"STARFLEET_STACK_DIR": str(tmp_path), "STARFLEET_STACK_REDIS_PORT": value}
    with pytest.raises(StackError, match=f"STARFLEET_STACK_REDIS_PORT={value!r}"):
        StackSettings.from_environment(environ)


def test_two_components_on_one_port_are_refused(tmp_path: Path) -> None:
    environ = {"STARFLEET_STACK_DIR": str(tmp_path), "STARFLEET_STACK_REDIS_PORT": "8080"}
    with pytest.raises(StackError, match="share a port"):
        StackSettings.from_environment(environ)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a folder the postgres user cannot enter")
def test_a_cluster_folder_the_postgres_user_cannot_reach_is_detected() -> None:
    from starfleet_airflow.devtools.stack.postgres import _traversable_by

    pytest.importorskip("pwd").getpwnam("postgres")
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # /tmp and / can be entered by everyone
    try:
        os.chmod(base, 0o755)
        (base / "closed" / "inner").mkdir(parents=True)
        os.chmod(base / "closed", 0o700)
        assert not _traversable_by("postgres", base / "closed" / "inner")
        os.chmod(base / "closed", 0o755)
        assert _traversable_by("postgres", base / "closed" / "inner")
    finally:
        shutil.rmtree(base)


def test_signal_tree_reaches_parent_and_child(tmp_path: Path) -> None:
    running = _start_family(tmp_path)
    _wait_for_children(running.pid, 1)
    try:
        frozen = processes.freeze_tree(running.pid)
        assert len(frozen) == 2 and all(p.status() == psutil.STATUS_STOPPED for p in frozen)
        assert processes.signal_tree(running.pid, signal.SIGCONT) == 2
    finally:
        processes.stop(tmp_path / "run", "family", grace=5)
