"""What the demo prints at the end: per DAG run, the queues, the account index, where the reports are.

Everything here reads what the runs left behind (the metadata DB's XComs via ``results``, the run
snapshots, the stand-in's queues, the index file), so the summary shows what happened rather than
what was expected to happen.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starfleet_airflow.devtools.stand_in.org_model import OrgFixture

COMMIT_WORDS = {True: "commit", False: "dry run"}


@dataclass
class RunRecord:
    """One DAG run of the demo: what was asked, what the CLI said, what the DB holds afterwards."""

    ship: str
    dag_id: str
    conf: dict[str, Any]
    purpose: str
    log_path: str
    seconds: float = 0.0
    returncode: int | None = None
    run_id: str | None = None
    cli_state: str | None = None
    verdict: str | None = None
    result: dict[str, Any] = field(default_factory=dict)  # from results.read_runs
    targets: dict[str, Any] = field(default_factory=dict)  # distinct accounts/regions from the snapshot
    checks: list[str] = field(default_factory=list)  # stand-in read-backs
    report_path: str | None = None

    @property
    def state(self) -> str:
        return str(self.result.get("state") or self.cli_state or "not started")


def target_spread(snapshot_location: str, ship_class: Any, s3_client_factory: Callable[[], Any]) -> dict[str, Any]:
    """Distinct accounts and regions of a run's targets, re-derived from its snapshot as deliver does."""
    from starfleet_airflow.core.plan import snapshot_view
    from starfleet_airflow.core.snapshot import load_snapshot

    snapshot = load_snapshot(snapshot_location, s3_client_factory)
    view = snapshot_view(snapshot, ship_class, source=snapshot_location)
    accounts: set[str] = set()
    regions: set[str] = set()
    per_account: Counter[str] = Counter()
    for key in snapshot.templates:
        for target in view.targets(key):
            if target.account_id:
                accounts.add(target.account_id)
                per_account[target.account_id] += 1
            if target.region:
                regions.add(target.region)
    spread = {"accounts": len(accounts), "regions": len(regions)}
    if regions and per_account:
        spread["regions_per_account"] = [min(per_account.values()), max(per_account.values())]
    return spread


def plural(count: int, word: str) -> str:
    """``1 target``, ``2 targets``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def region_spread(region_counts: Iterable[int]) -> str:
    """``17 (12 accounts), 19 (42), 20 (6)``: how many regions accounts have enabled, and how often."""
    counts = sorted(Counter(region_counts).items())
    return ", ".join(f"{n} ({plural(k, 'account')})" if i == 0 else f"{n} ({k})" for i, (n, k) in enumerate(counts))


def index_facts(raw: bytes, fixture: OrgFixture | None) -> dict[str, Any]:
    """What the account index holds, and whether it matches the seeded organisation."""
    data = json.loads(raw)
    accounts = data.get("accounts") or {}
    statuses = Counter(str(a.get("Status")) for a in accounts.values())
    active = {i: frozenset(a.get("Regions") or []) for i, a in accounts.items() if a.get("Status") == "ACTIVE"}
    org_units = {p["Id"] for a in accounts.values() for p in a.get("Parents") or [] if p.get("Type") != "ROOT"}
    facts: dict[str, Any] = {
        "generated": data.get("generated"),
        "accounts": len(accounts),
        "statuses": dict(sorted(statuses.items())),
        "org_units": len(org_units),
        "regions": len({r for a in accounts.values() for r in a.get("Regions") or []}),
        "regions_per_active_account": region_spread(len(regions) for regions in active.values()),
        "tagged_accounts": sum(1 for a in accounts.values() if a.get("Tags")),
    }
    if fixture is not None:
        seeded = {a.id: a.regions for a in fixture.accounts.values() if a.status == "ACTIVE"}
        facts["matches_seeded_organisation"] = set(accounts) == set(fixture.accounts) and seeded == active
    return facts


def _counts(report: Mapping[str, Any]) -> str:
    parts = [f"{report.get('succeeded', 0)} succeeded", f"{report.get('failed', 0)} failed"]
    if report.get("invalid_templates"):
        parts.append(f"{report['invalid_templates']} invalid templates")
    if report.get("undelivered"):
        parts.append(f"{report['undelivered']} with unknown outcome")
    return ", ".join(parts)


def _inline_details(report: Mapping[str, Any]) -> str | None:
    """For inline ships whose detail says what changed: how many targets changed / would change."""
    rows = [row for row in report.get("rows") or [] if isinstance(row.get("detail"), dict)]
    if not rows or not any("changes" in row["detail"] for row in rows):
        return None
    changed = sum(1 for row in rows if row["detail"].get("changes"))
    committed = sum(1 for row in rows if row["detail"].get("committed"))
    return f"{changed} with changes, {len(rows) - changed} already as the template says, {committed} written"


def render_run(
    number: int, record: RunRecord, queue_names: Mapping[str, str], shown: Callable[[str], str] = str
) -> list[str]:
    """The lines of one run in the summary (``shown`` turns a template's file into what the user types)."""
    summary = record.result.get("summary") or {}
    report = record.result.get("report") or {}
    mode = summary.get("delivery_mode") or "?"
    commit = record.conf.get("commit", summary.get("commit"))
    head = f"{number}. {record.ship} -- {record.purpose}"
    lines = [
        head,
        f"   DAG run   {record.dag_id} / {record.run_id or '-'}: {record.state.upper()} ({record.seconds:.1f} s)",
    ]
    if summary:
        where = ""
        if record.targets.get("accounts"):
            where = f" = {record.targets['accounts']} accounts"
            if record.targets.get("regions"):
                low, high = record.targets.get("regions_per_account", ["?", "?"])
                where += f" x their enabled regions ({record.targets['regions']} regions, {low}-{high} per account)"
        lines.append(
            f"   targets   {summary.get('total_targets', 0)} ({summary.get('strategy')}){where};"
            f" {plural(summary.get('total_units', 0), 'work unit')}"
        )
    if report:
        if mode == "SQS":
            queue = queue_names.get(record.ship, "?")
            lines.append(
                f"   delivery  SQS to {queue}: {report.get('succeeded', 0)} messages sent,"
                f" {report.get('failed', 0)} failed"
            )
        else:
            what = f"INLINE ({COMMIT_WORDS.get(bool(commit), '?')}): {_counts(report)}"
            details = _inline_details(report)
            lines.append(f"   delivery  {what}" + (f"; {details}" if details else ""))
        for invalid in summary.get("invalid") or []:
            where = shown(invalid["location"]) if invalid.get("location") else invalid["key"]
            lines.append(f"   invalid   {where}: {'; '.join(invalid.get('errors') or [])[:200]}")
        failures = [
            row
            for row in report.get("rows") or []
            if row.get("outcome") not in ("sent", "succeeded", "invalid template")  # invalid ones: listed above
        ]
        for row in failures[:5]:
            lines.append(
                f"   failed    {row.get('account_name') or '-'} ({row.get('account_id') or '-'})"
                f" {row.get('region') or ''}: {str(row.get('error'))[:150]}"
            )
        if len(failures) > 5:
            lines.append(f"   ...       {len(failures) - 5} more failures in the report")
        lines.append(f"   verdict   {report.get('verdict')}")
    elif record.verdict:
        lines.append(f"   verdict   {record.verdict}")
    lines.extend(f"   stand-in  {check}" for check in record.checks)
    lines.append(f"   log       {record.log_path}")
    if record.report_path:
        lines.append(f"   report    {record.report_path}")
    return lines


def render_queues(
    depths: Mapping[str, Mapping[str, int]], sent: Mapping[str, int], samples: Mapping[str, Any]
) -> list[str]:
    """Messages on each worker queue (as SQS reports them) against what the runs said they sent."""
    lines = ["Worker queues (messages now on each queue in the stand-in):"]
    for name, depth in sorted(depths.items()):
        expected = sent.get(name)
        note = (
            ""
            if expected is None
            else (" = sent by the runs above" if expected == depth["visible"] else f" (runs sent {expected})")
        )
        lines.append(f"   {name}: {depth['visible']} messages{note}")
        sample = samples.get(name)
        if sample:
            body = json.loads(sample["body"])
            assigned = {k: body.get(k) for k in ("StarbaseAssignedAccount", "StarbaseAssignedRegion") if k in body}
            lines.append(
                f"      e.g. {body.get('TemplateName')} {json.dumps(assigned)},"
                f" attributes {json.dumps(sample['attributes'])}"
            )
    return lines


def render_index(location: str, facts: Mapping[str, Any] | None, note: str | None) -> list[str]:
    """The account index the generator wrote."""
    lines = [f"Account index: {location}"]
    if facts is None:
        lines.append(f"   not readable: {note}")
        return lines
    lines.append(
        f"   generated {facts['generated']}: {facts['accounts']} accounts {json.dumps(facts['statuses'])},"
        f" {facts['org_units']} OUs, {facts['tagged_accounts']} tagged"
    )
    lines.append(
        f"   {facts['regions']} regions in all; enabled regions per active account:"
        f" {facts['regions_per_active_account'] or '-'}"
    )
    if "matches_seeded_organisation" in facts:
        verdict = "yes" if facts["matches_seeded_organisation"] else "NO (see the generator's log)"
        lines.append(f"   matches the seeded organisation (ids, status, enabled regions): {verdict}")
    if note:
        lines.append(f"   note: {note}")
    return lines


def sent_per_queue(records: Sequence[RunRecord], queue_names: Mapping[str, str]) -> dict[str, int]:
    """Messages the SQS runs reported as sent, per queue name."""
    sent: Counter[str] = Counter()
    for record in records:
        summary = record.result.get("summary") or {}
        report = record.result.get("report") or {}
        if summary.get("delivery_mode") == "SQS" and record.ship in queue_names:
            sent[queue_names[record.ship]] += int(report.get("succeeded", 0))
    return dict(sent)
