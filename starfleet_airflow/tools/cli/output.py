"""How the command line speaks: results to stdout, one problem per line to stderr, exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.resolve import Target

EXIT_OK = 0
EXIT_PROBLEMS = 1


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
