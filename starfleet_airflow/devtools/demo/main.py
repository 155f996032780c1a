"""``python -m starfleet_airflow.devtools.demo`` (what ``scripts/demo.sh`` runs): options and exit codes."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starfleet_airflow.devtools.demo.airflow_env import DEFAULT_DAG_TIMEOUT
from starfleet_airflow.devtools.demo.options import DEFAULT_SHIPS, DemoOptions, Printer
from starfleet_airflow.devtools.demo.session import run_demo
from starfleet_airflow.devtools.stand_in.ports import DemoError


def parse_args(argv: Sequence[str] | None = None) -> DemoOptions:
    parser = argparse.ArgumentParser(
        prog="scripts/demo.sh",
        description="Run the real DAGs of the embedded default through Airflow against a local AWS stand-in"
        " (moto); no AWS account is used. See docs/demo.md.",
    )
    parser.add_argument("--port", type=int, default=5000, help="port of the AWS stand-in on 127.0.0.1 (default 5000)")
    parser.add_argument(
        "--accounts", type=int, default=60, help="member accounts to seed (default 60, plus the management account)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the organisation's shape and ids (default 0)")
    parser.add_argument(
        "--ships", default=",".join(DEFAULT_SHIPS), help="ships to run, in order (default: %(default)s)"
    )
    parser.add_argument("--config-dir", type=Path, help="configuration folder (default: config/ of the checkout)")
    parser.add_argument(
        "--state-dir", type=Path, help="Airflow home, logs and env file go here (default: .starfleet/ of the checkout)"
    )
    parser.add_argument(
        "--serve", action="store_true", help="keep the AWS stand-in running afterwards, for the Airflow UI"
    )
    parser.add_argument("--skip-runs", action="store_true", help="seed the stand-in and prepare Airflow, run no DAG")
    parser.add_argument(
        "--dag-timeout", type=float, default=DEFAULT_DAG_TIMEOUT, help="seconds one DAG run may take (default 1200)"
    )
    args = parser.parse_args(argv)
    if args.accounts < 1:
        parser.error("--accounts: expected at least 1")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: expected a TCP port number (1-65535), got {args.port}")
    return DemoOptions(
        config_dir=args.config_dir,
        state_dir=args.state_dir,
        port=args.port,
        accounts=args.accounts,
        seed=args.seed,
        ships=tuple(name.strip() for name in args.ships.split(",") if name.strip()),
        serve=args.serve,
        skip_runs=args.skip_runs,
        dag_timeout=args.dag_timeout,
    )


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit code 0 when every DAG run succeeded, 1 when one failed, 2 when the demo could not run."""
    options = parse_args(argv)
    say = Printer()
    # SIGTERM ends the demo like Ctrl-C: the running Airflow command (its own process group) and the
    # stand-in are stopped on the way out instead of being left behind.
    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background by a script
        signal.signal(signal.SIGINT, _interrupt)
    try:
        result = run_demo(options, say)
    except DemoError as exc:
        say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    return 0 if result.ok else 1
