"""How the command line speaks: results to stdout, one problem per line to stderr, exit codes.

A failure the user can cause ends as one line saying what was wrong and what to do, never as a
traceback: ``CliError`` for our own checks, ``aws_problem`` for what botocore raises (no credentials, no
endpoint, a refused call). ``--debug`` keeps the tracebacks for bug reports.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.resolve import Target

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell tool killed by a closed pipe returns

# What a user can do about the AWS failures they can cause on this project's embedded default.
STAND_IN_HINT = (
    "the embedded default's accounts live in the demo's AWS stand-in: start it with"
    " `scripts/demo.sh --serve --skip-runs` in another terminal, then `source .starfleet/demo-env.sh` here"
)
AWS_HINTS = {
    "NoCredentialsError": f"no AWS credentials here; {STAND_IN_HINT}, or configure credentials (e.g. AWS_PROFILE)",
    "Unable to locate credentials": f"no AWS credentials here; {STAND_IN_HINT}, or configure credentials",
    "EndpointConnectionError": f"AWS is not reachable at that endpoint; {STAND_IN_HINT} (it must be running)",
    "Could not connect to the endpoint URL": f"AWS is not reachable there; {STAND_IN_HINT} (it must be running)",
    "ConnectionClosedError": f"the AWS endpoint closed the connection; {STAND_IN_HINT} (it must be running)",
    "InvalidClientTokenId": "the AWS credentials are not valid for this endpoint; check AWS_PROFILE / AWS_ENDPOINT_URL",
    "ExpiredToken": "the AWS session token has expired; refresh your credentials",
}


QUIET_LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer")


class CliError(Exception):
    """Stops a command; every line is printed to stderr and the exit code is 1."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


def print_errors(lines: Sequence[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def aws_hint(error_text: str) -> str | None:
    """What to do about an AWS failure, from the exception name or error code in its text."""
    return next((hint for name, hint in AWS_HINTS.items() if name in error_text), None)


def aws_problem(exc: BaseException) -> str:
    """One line for a botocore exception: what failed, and what to do when we know."""
    text = f"{type(exc).__name__}: {exc}"
    hint = aws_hint(text)
    return f"AWS: {text}" + (f" -- {hint}" if hint else "")


class OneLineFormatter(logging.Formatter):
    """Log lines without tracebacks: a ship's failure is its message (``--debug`` shows the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}"
            record.args = None
        return super().format(record)


def configure_logging(level: int, *, debug: bool) -> None:
    """Log to stderr at ``level``; tracebacks only with ``--debug``."""
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt) if debug else OneLineFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in QUIET_LIBRARIES:  # "Found credentials in environment variables." is not a ship's output
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells)


def targets_json(targets: Sequence[Target], index: AccountIndex | None = None) -> list[dict[str, Any]]:
    rows = []
    for target in targets:
        row: dict[str, Any] = {"account_id": target.account_id, "region": target.region}
        if index is not None and target.account_id is not None:
            row["account_name"] = index.name_of(target.account_id)
        rows.append(row)
    return rows
