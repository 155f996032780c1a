"""Ports and proxies of the stand-in: is a port free, who holds it, and the proxy route for s3-control.

s3-control and the stand-in. Real S3 Control endpoints carry the account id in the host name
(``<account>.s3-control.<region>.amazonaws.com``), and botocore's endpoint rules build
``http://<account>.127.0.0.1:5000`` from a custom endpoint, a name no resolver knows (its
``inject_host_prefix`` setting does not apply: the prefix comes from the rule set). The demo therefore
sends plain-HTTP AWS calls through the stand-in used as an HTTP proxy (``proxy_environment``): the
request line then carries the whole URL, moto serves it, and no name has to resolve. Nothing else
changes for the ships.

What must not go through that proxy is Airflow's own traffic: the api-server reads a running task's log
from the worker's log server by the worker's host name, and the components talk to the api-server on
``localhost``. ``NO_PROXY`` names those, and 127.0.0.1 as ``127.0.0.1/32``: requests (Airflow's log
fetch) reads that as an address range, while urllib's rules (botocore's) match plain entries as host-name
suffixes, so a bare ``127.0.0.1`` would also match ``<account>.127.0.0.1`` and break the s3-control route.
"""

from __future__ import annotations

import errno
import os
import socket

# Proxy settings a developer's shell may carry: dropped, since everything the demo reaches is local.
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def no_proxy_hosts() -> str:
    """``NO_PROXY`` for the demo: localhost, this machine's names (the worker's host name), 127.0.0.1/32."""
    names = ["localhost", socket.gethostname(), socket.getfqdn(), "127.0.0.1/32"]
    return ",".join(dict.fromkeys(name for name in names if name))


class DemoError(Exception):
    """The demo cannot go on; the message says what happened and what to do about it."""


def _answers_as_moto(host: str, port: int) -> bool:
    """True when an HTTP server on ``host:port`` answers moto's own API."""
    import requests

    try:
        response = requests.get(f"http://{host}:{port}/moto-api/data.json", timeout=2, proxies={})
    except requests.RequestException:
        return False
    if response.status_code != 200:
        return False
    try:
        return isinstance(response.json(), dict)  # moto's backend data as JSON ({} when empty)
    except ValueError:
        return False


def _listening_processes(port: int) -> list[str]:
    """``pid <n>: <command line>`` of the processes listening on ``port``, as far as we may see them."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with Airflow
        return []
    found: list[str] = []
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return []
    for connection in connections:
        if connection.status != psutil.CONN_LISTEN or not connection.laddr or connection.laddr.port != port:
            continue
        if connection.pid is None:
            found.append("a process of another user (pid hidden)")
            continue
        try:
            command = " ".join(psutil.Process(connection.pid).cmdline()) or "?"
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            command = "?"
        found.append(f"pid {connection.pid}: {command[:200]}")
    return sorted(set(found))


def describe_port_holder(host: str, port: int) -> str:
    """What holds the port, and how to free it (or avoid it), in a few lines."""
    holders = _listening_processes(port)
    lines = [f"{host}:{port} is already in use, so the AWS stand-in cannot start there."]
    if holders:
        lines.append("Listening there: " + "; ".join(holders))
    else:
        lines.append(f"Find the process with: lsof -nP -iTCP:{port} -sTCP:LISTEN   (or: ss -ltnp 'sport = :{port}')")
    if _answers_as_moto(host, port):
        lines.append(
            "It answers as a moto server: probably an earlier `scripts/demo.sh --serve` or"
            " `python -m starfleet_airflow.devtools.stand_in`; stop it (Ctrl-C in its terminal, or kill its pid)."
        )
    else:
        lines.append(
            "Stop that process, or run the demo on another port: scripts/demo.sh --port 5055"
            " (on macOS, port 5000 is often the AirPlay Receiver: System Settings > General > AirDrop & Handoff)."
        )
    return "\n".join(lines)


def ensure_port_free(host: str, port: int) -> None:
    """Raise ``DemoError`` (saying what holds it) when ``host:port`` cannot be bound.

    moto's ``ThreadedMotoServer.start`` waits forever when its thread cannot bind, so this is checked
    first. The probe binds the way servers do (``SO_REUSEADDR``, as werkzeug's server under moto does):
    connections of a stopped server linger in TIME_WAIT for a minute and must not count as "in use",
    while a socket that really listens there still does.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if os.name == "posix":  # Windows' SO_REUSEADDR would let two servers share the port
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise DemoError(describe_port_holder(host, port)) from exc
        raise DemoError(f"{host}:{port}: cannot listen there ({exc})") from exc
    finally:
        probe.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A port the system has just handed out (for tests and for ``--port 0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def proxy_environment(endpoint: str) -> dict[str, str]:
    """The variables that route plain-HTTP AWS calls through the stand-in (see the module docstring).

    Both spellings are set: lower case wins in most clients, and a developer's own proxy settings
    must not send stand-in traffic elsewhere.
    """
    hosts = no_proxy_hosts()
    return {"HTTP_PROXY": endpoint, "http_proxy": endpoint, "NO_PROXY": hosts, "no_proxy": hosts}
