"""Start the stack's processes, find them again, and stop exactly them, by pid.

Each component is started in its own session (``start_new_session``), with its output in
``logs/<name>.log`` and ``run/<name>.pid`` holding its pid and start time. The start time tells a live
component from an unrelated process that later got the same pid. Stopping signals the recorded process
and every descendant of it (Celery's pool, the task supervisors and the task processes they fork, the
api-server's workers), waits, then kills what is left: nothing started by the stack outlives ``down``.
"""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Running:
    """A recorded process that is still the one we started."""

    name: str
    pid: int
    started: float
    fingerprint: str = ""


def _pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def find(run_dir: Path, name: str) -> Running | None:
    """The component's process when its pid file names a live process started at the recorded time."""
    path = _pid_file(run_dir, name)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        process = psutil.Process(int(record["pid"]))
        if abs(process.create_time() - float(record["started"])) > 1.0 or process.status() == psutil.STATUS_ZOMBIE:
            return None
    except (OSError, ValueError, KeyError, psutil.Error):
        return None
    return Running(name, process.pid, float(record["started"]), str(record.get("fingerprint", "")))


def fingerprint(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> str:
    """What a component was started with; ``up`` restarts a component whose settings changed."""
    text = json.dumps([list(argv), sorted(env.items()), str(cwd)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def start(
    run_dir: Path,
    log_dir: Path,
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    user: str | None = None,
) -> Running:
    """Start ``argv`` as component ``name`` in its own session; its output goes to ``logs/<name>.log``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as log:
        log.write(f"\n==> {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
        )
    started = psutil.Process(process.pid).create_time()
    stamp = fingerprint(argv, env, cwd)
    record = {"pid": process.pid, "started": started, "fingerprint": stamp, "argv": list(argv)}
    _pid_file(run_dir, name).write_text(json.dumps(record) + "\n", encoding="utf-8")
    return Running(name, process.pid, started, stamp)


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (those still alive)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def signal_tree(pid: int, sig: int) -> int:
    """Send ``sig`` to the process and its descendants; returns how many were signalled."""
    sent = 0
    for process in process_tree(pid):
        try:
            process.send_signal(sig)
            sent += 1
        except psutil.NoSuchProcess:
            continue
    return sent


def freeze_tree(pid: int, timeout: float = 10.0) -> list[psutil.Process]:
    """SIGSTOP the process and its descendants, and return once the kernel reports every one stopped."""
    signal_tree(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while True:
        tree = process_tree(pid)
        try:
            if all(p.status() in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE) for p in tree):
                return tree
        except psutil.NoSuchProcess:
            continue
        if time.monotonic() > deadline:
            raise TimeoutError(f"pid {pid}: not every process stopped within {timeout:.0f} s")
        signal_tree(pid, signal.SIGSTOP)  # children forked meanwhile
        time.sleep(0.05)


def stop(run_dir: Path, name: str, *, sig: int = signal.SIGTERM, grace: float = 20.0) -> bool:
    """Stop the component and its descendants (``sig``, then SIGKILL after ``grace`` s); True if it ran."""
    return bool(stop_together(run_dir, {name: sig}, grace=grace))


def stop_together(run_dir: Path, signals: Mapping[str, int], *, grace: float = 20.0) -> list[str]:
    """Stop several components at once (each with its signal, then SIGKILL after ``grace`` s).

    Returns the names that were running. Signalling them together lets their shutdowns overlap.
    """
    trees: dict[str, tuple[int, list[psutil.Process]]] = {}
    for name, sig in signals.items():
        running = find(run_dir, name)
        if running is None:
            _pid_file(run_dir, name).unlink(missing_ok=True)
            continue
        tree = process_tree(running.pid)
        for process in tree:
            try:
                process.send_signal(sig)
            except psutil.NoSuchProcess:
                continue
        trees[name] = (running.pid, tree)
    everything = [process for _, tree in trees.values() for process in tree]
    _gone, alive = psutil.wait_procs(everything, timeout=grace)
    for pid, _tree in trees.values():  # children forked after the signal, and anything that ignored it
        alive += [p for p in process_tree(pid) if p not in alive]
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=5)
    for name in trees:
        _pid_file(run_dir, name).unlink(missing_ok=True)
    return list(trees)


def kill_tree(run_dir: Path, name: str) -> list[int]:
    """SIGKILL the component and every descendant at once (a machine dying); returns the pids killed.

    The tree is frozen first (SIGSTOP) so that no process forks a child between listing and killing.
    """
    running = find(run_dir, name)
    if running is None:
        return []
    tree = freeze_tree(running.pid)
    for process in tree:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(tree, timeout=10)
    _pid_file(run_dir, name).unlink(missing_ok=True)
    return [process.pid for process in tree]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def port_free(host: str, port: int) -> bool:
    """True when the port can be bound without SO_REUSEADDR (no listener, no lingering connection)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def listeners(port: int) -> list[str]:
    """``pid N: command`` of every process listening on ``port`` (empty when none)."""
    found = []
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return ["(cannot list sockets)"] if port_open(port) else []
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            try:
                command = " ".join(psutil.Process(connection.pid).cmdline())[:120] if connection.pid else "?"
            except psutil.Error:
                command = "?"
            found.append(f"pid {connection.pid}: {command}")
    return sorted(set(found))


def wait_until(check, timeout: float, what: str, *, interval: float = 0.5, alive=None) -> None:  # type: ignore[no-untyped-def]
    """Poll ``check()`` until it is true; ``alive()`` false or the timeout raises ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if alive is not None and not alive():
            raise TimeoutError(f"{what}: the process exited")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(interval)
