"""``python -m starfleet_airflow.devtools.stand_in``: a seeded moto server for trying ships by hand."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from starfleet_airflow.devtools.stand_in.org_model import OrgFixture
from starfleet_airflow.devtools.stand_in.org_seeding import seed_organisation
from starfleet_airflow.devtools.stand_in.ports import DemoError, ensure_port_free


def serve(
    host: str = "127.0.0.1", port: int = 5000, *, region: str = "us-east-1", **seed_options: Any
) -> tuple[Any, OrgFixture]:
    """Start a moto server in this process and seed it through its endpoint; returns (server, fixture).

    The server shares this process's moto backends, so the per-account regions are varied even for
    clients in other processes (Airflow workers) that reach it over 127.0.0.1. Stop it with ``stop()``.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    ensure_port_free(host, port)  # moto's server would wait forever on a port it cannot bind
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    endpoint = f"http://{bound_host}:{bound_port}"
    # Stand-in credentials only: whatever the environment holds is never used to seed.
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    try:
        fixture = seed_organisation(session, endpoint_url=endpoint, **seed_options)
    except BaseException:
        server.stop()
        raise
    return server, fixture


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m starfleet_airflow.devtools.stand_in``: a seeded moto server until interrupted."""
    import argparse
    import signal
    import threading

    parser = argparse.ArgumentParser(prog="python -m starfleet_airflow.devtools.stand_in", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--region", default="us-east-1", help="the deployment region (DescribeRegions is read there)")
    parser.add_argument("--accounts", type=int, default=60, help="member accounts to create")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fixture-out", help="write what was seeded (JSON) to this file")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: expected a TCP port number (1-65535), got {args.port}")
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # this process is the stand-in
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    try:
        server, fixture = serve(args.host, args.port, region=args.region, n_accounts=args.accounts, seed=args.seed)
    except DemoError as exc:
        print(f"error: {exc}", flush=True)
        return 2
    if args.fixture_out:
        with open(args.fixture_out, "w", encoding="utf-8") as handle:
            json.dump(fixture.to_dict(), handle, indent=2)
    host, port = server.get_host_and_port()
    print(
        f"moto on http://{host}:{port}: organisation {fixture.organization_id} (root {fixture.root_id}),"
        f" {len(fixture.accounts)} accounts, {len(fixture.org_units)} OUs, regions varied: {fixture.regions_varied}",
        flush=True,
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    server.stop()
    return 0
