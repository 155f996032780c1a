"""Figures for hostile inputs (issue 10): what each costs now, next to what it cost before, in the same run.

    python scripts/benchmark_inputs.py          # medians of 5

* a trigger's 50,000 account ids de-duplicated (``Narrowing.from_params``) against the list-based
  de-duplication it replaced (quadratic: the reference, timed once);
* the 8-level YAML alias bomb of the issue refused at load (it used to load in microseconds and then
  grow the plan task to a MemoryError), and its expanded size as the loader estimates it;
* the refusal of a trigger naming 20,000 unknown accounts: its length, capped, against the uncapped one.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starfleet_airflow.core.plan import Narrowing
from starfleet_airflow.core.plan.narrowing import listed
from starfleet_airflow.core.templates import parse_template_bytes

RUNS = 5


def median_seconds(call, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def quadratic_dedup(values: list[str]) -> tuple[str, ...]:
    """The de-duplication ``Narrowing.from_params`` used before (``text not in cleaned`` on a list)."""
    cleaned: list[str] = []
    for item in values:
        text = str(item).strip()
        if text and text not in cleaned:
            cleaned.append(text)
    return tuple(cleaned)


def alias_bomb(levels: int = 8, fan_out: int = 9) -> bytes:
    lines = ["TemplateName: Bomb", "TemplateDescription: laughs", "L0: &a0 [" + ", ".join(["lol"] * fan_out) + "]"]
    lines += [f"L{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * fan_out) + "]" for n in range(1, levels + 1)]
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    ids = [f"{100000000000 + i}" for i in range(50_000)]
    now = median_seconds(lambda: Narrowing.from_params({"accounts": ids}))
    before = median_seconds(lambda: quadratic_dedup(ids), runs=1)
    assert Narrowing.from_params({"accounts": ids}).accounts == quadratic_dedup(ids)
    print(f"trigger narrowing, 50,000 account ids: {now * 1000:.1f} ms (before: {before:.1f} s, {before / now:,.0f}x)")

    bomb = alias_bomb()
    refused = median_seconds(lambda: parse_template_bytes(bomb))
    _, error = parse_template_bytes(bomb)
    print(f"alias bomb ({len(bomb)} bytes of YAML) refused at load in {refused * 1000:.2f} ms: {error}")

    unknown = [repr(f"{900000000000 + i}") for i in range(20_000)]
    capped, uncapped = len(listed(unknown)), len(", ".join(unknown))
    print(f"refusal naming 20,000 unknown accounts: {capped} characters (before: {uncapped:,})")


if __name__ == "__main__":
    main()
