"""A template's targets, kept as accounts with their regions rather than one tuple per target.

An organisation-wide template has 17-20 targets per account, and accounts mostly share one region
list. ``TargetList`` stores each account once with a shared tuple of its regions, so resolving 85,000
targets builds 5,000 list entries, and message bodies, work units and labels are cut per account.
It is still a ``Sequence[Target]``: indexing, slicing, iteration and ``==`` behave like the plain list
of ``Target`` tuples it stands for (built only when someone iterates).

``to_document`` / ``from_document`` give a compact JSON form (each distinct region tuple written once),
which is how a work unit's slice travels in the run snapshot.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from typing import Any, NamedTuple, overload


class Target(NamedTuple):
    """Where one unit of a ship's work happens; both None for SINGLE_INVOCATION."""

    account_id: str | None
    region: str | None


Regions = tuple[str | None, ...]
NO_REGION: Regions = (None,)  # ACCOUNT and SINGLE_INVOCATION targets: one target per account, no region


class TargetList(Sequence[Target]):
    """Targets as ``(account, regions)`` groups, in order; a read-only sequence of ``Target``."""

    __slots__ = ("_accounts", "_ends", "_regions")

    def __init__(self, accounts: Sequence[str | None] = (), regions: Sequence[Regions] = ()) -> None:
        """``regions[i]`` are the regions of ``accounts[i]`` (``NO_REGION`` when there is none); none empty."""
        if len(accounts) != len(regions):
            raise ValueError("accounts and regions must have the same length")
        self._accounts = list(accounts)
        self._regions = list(regions)
        self._ends: list[int] | None = None

    @classmethod
    def from_targets(cls, targets: Iterable[tuple[str | None, str | None]]) -> TargetList:
        """Group a plain iterable of ``(account, region)`` pairs (consecutive pairs of one account merge)."""
        accounts: list[str | None] = []
        regions: list[list[str | None]] = []
        for account_id, region in targets:
            if accounts and accounts[-1] == account_id and regions[-1] != [None]:
                regions[-1].append(region)
            else:
                accounts.append(account_id)
                regions.append([region])
        return cls(accounts, [tuple(r) for r in regions])

    # -- the groups ---------------------------------------------------------------------------------

    def groups(self) -> Iterator[tuple[str | None, Regions]]:
        """``(account, regions)`` in order: what bodies, units and labels are built from."""
        return zip(self._accounts, self._regions, strict=True)

    @property
    def accounts(self) -> list[str | None]:
        """The accounts, each once, in order."""
        return self._accounts

    @property
    def account_count(self) -> int:
        return len(self._accounts)

    def _offsets(self) -> list[int]:
        if self._ends is None:
            self._ends = list(accumulate(map(len, self._regions)))
        return self._ends

    # -- Sequence -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        ends = self._offsets()
        return ends[-1] if ends else 0

    def __iter__(self) -> Iterator[Target]:
        for account_id, regions in zip(self._accounts, self._regions, strict=True):
            for region in regions:
                yield Target(account_id, region)

    @overload
    def __getitem__(self, item: int) -> Target: ...

    @overload
    def __getitem__(self, item: slice) -> TargetList: ...

    def __getitem__(self, item: int | slice) -> Target | TargetList:
        if isinstance(item, slice):
            start, stop, step = item.indices(len(self))
            if step != 1:
                return TargetList.from_targets(list(self)[item])
            return self._slice(start, stop)
        size = len(self)
        position = item + size if item < 0 else item
        if not 0 <= position < size:
            raise IndexError("target index out of range")
        group = bisect_right(self._offsets(), position)
        first = self._offsets()[group] - len(self._regions[group])
        return Target(self._accounts[group], self._regions[group][position - first])

    def _slice(self, start: int, stop: int) -> TargetList:
        if start >= stop:
            return TargetList()
        ends = self._offsets()
        first = bisect_right(ends, start)
        last = bisect_right(ends, stop - 1)
        accounts = self._accounts[first : last + 1]
        regions = self._regions[first : last + 1]
        head_start = ends[first] - len(self._regions[first])
        tail_start = ends[last] - len(self._regions[last])
        if first == last:
            regions = [self._regions[first][start - head_start : stop - head_start]]
        else:
            regions[0] = regions[0][start - head_start :]
            regions[-1] = regions[-1][: stop - tail_start]
        return TargetList(accounts, regions)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TargetList):
            return self._accounts == other._accounts and self._regions == other._regions
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequence semantics, like a list

    def __repr__(self) -> str:
        return f"TargetList({len(self)} targets in {len(self._accounts)} accounts)"

    # -- narrowing ----------------------------------------------------------------------------------

    def keep(self, accounts: Iterable[str] = (), regions: Iterable[str] = ()) -> TargetList:
        """Only the given accounts and/or regions (an empty filter keeps everything)."""
        wanted_accounts = set(accounts)
        wanted_regions = set(regions)
        kept_accounts: list[str | None] = []
        kept_regions: list[Regions] = []
        narrowed: dict[Regions, Regions] = {}
        for account_id, group in self.groups():
            if wanted_accounts and account_id not in wanted_accounts:
                continue
            if wanted_regions:
                kept = narrowed.get(group)
                if kept is None:
                    kept = narrowed[group] = tuple(r for r in group if r in wanted_regions)
                group = kept
            if group:
                kept_accounts.append(account_id)
                kept_regions.append(group)
        return TargetList(kept_accounts, kept_regions)

    # -- the compact JSON form ----------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        """``{"accounts": [...], "regions": [[...], ...], "shape": [i, ...]}``: each region tuple once."""
        table: dict[Regions, int] = {}
        shape = [table.setdefault(group, len(table)) for group in self._regions]
        return {"accounts": self._accounts, "regions": [list(group) for group in table], "shape": shape}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> TargetList:
        """The inverse of ``to_document`` (raises ``ValueError`` on a malformed document)."""
        try:
            table = [tuple(group) for group in document["regions"]]
            regions = [table[i] for i in document["shape"]]
            accounts = document["accounts"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"not a target list document ({exc})") from exc
        if any(not group for group in table):
            raise ValueError("not a target list document (an empty region list)")
        return cls(accounts, regions)
