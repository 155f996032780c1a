"""A ship DAG's documentation: the ship's docstring, what starts it, and its effective configuration."""

from __future__ import annotations

import re
from typing import Any

import yaml

from starfleet_airflow.airflow.naming import docstring_of
from starfleet_airflow.airflow.review.docs import review_doc_lines
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.plan import DEFAULT_SQS_TARGETS_PER_UNIT
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.schemas import AirflowShipOptions

DEFAULT_POOL = "default_pool"
UNPAUSE_NOTE = (
    "**Unpausing starts a full-scope run.** When this DAG is unpaused (also by the trigger form's"
    " *Unpause on trigger*, checked by default), the scheduler at once creates the run of the latest schedule"
    " tick it missed while paused, at full scope: every template, account and region, with `commit` ="
    " `DefaultCommit`. A"
    " narrowed trigger on a paused DAG is therefore followed by that run too. To try a narrowed run without"
    " it, trigger it while the DAG is unpaused (its schedule then runs anyway), or run it without the"
    " scheduler: `airflow dags test {dag_id} --conf '{{\"accounts\": [...]}}'`."
)


def _yaml(data: Any) -> str:
    """YAML for the DAG docs, through libyaml when PyYAML has it (4x faster: it runs for every ship at parse)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


MASK = "***"


def _looks_secret(key: Any) -> bool:
    """Airflow's secrets masker decides, on the key as written and in snake case (``PrivateKey`` -> ``private_key``)."""
    from starfleet_airflow.airflow.compat import should_hide_value_for_key

    text = str(key)
    return should_hide_value_for_key(text) or should_hide_value_for_key(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text))


def masked(value: Any) -> Any:
    """``value`` with the value of every key that looks secret (``SlackToken``, ``Password``...) replaced by ***."""
    if isinstance(value, dict):
        return {k: MASK if _looks_secret(k) else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def effective_options(loaded: LoadedShip, configuration: Configuration) -> dict[str, Any]:
    """The ``Airflow`` options with defaults applied, as YAML keys (what the run really uses, never null)."""
    options = AirflowShipOptions().dump(loaded.airflow_options)
    tolerance = loaded.airflow_options["failure_tolerance"]
    options["FailureTolerance"] = f"{tolerance['percent']}%" if "percent" in tolerance else tolerance.get("count", 0)
    if not options.get("AwsConnId"):
        options["AwsConnId"] = f"{configuration.starfleet.get('aws_conn_id', 'aws_default')} (STARFLEET.AwsConnId)"
    if options.get("FailureNotifications") is None:  # the ship inherits STARFLEET.FailureNotifications
        inherited = loaded.starfleet_configuration.get("failure_notifications") or []
        dumped = AirflowShipOptions().dump({"failure_notifications": inherited}).get("FailureNotifications")
        options["FailureNotifications"] = (
            dumped or "none (neither the ship nor STARFLEET.FailureNotifications sets any)"
        )
    if not options.get("Pool"):
        options["Pool"] = f"{DEFAULT_POOL} (Airflow's default pool)"
    if not options.get("Queue"):
        options["Queue"] = "Airflow's default queue ([operators] default_queue)"
    if not options.get("Executor"):
        options["Executor"] = "the default executor (the first of [core] executor)"
    if not options.get("TargetsPerUnit"):
        options["TargetsPerUnit"] = (
            f"{DEFAULT_SQS_TARGETS_PER_UNIT} (default; more when needed to stay within core.max_map_length)"
            if loaded.airflow_options["delivery_mode"] is DeliveryMode.SQS
            else "one account per task (default; chunks of accounts beyond core.max_map_length)"
        )
    if loaded.airflow_options["delivery_mode"] is DeliveryMode.SQS:
        options["InvocationQueueUrl"] = (
            f"{loaded.configuration.get('invocation_queue_url')} (sent through the endpoint of the connection"
            " above: its endpoint_url or AWS_ENDPOINT_URL when set; each deliver task logs the endpoint it used)"
        )
    return options


def ship_doc_md(loaded: LoadedShip, configuration: Configuration, schedule_text: str, *, dag_id: str = "") -> str:
    """The DAG's ``doc_md``; a timed ship's (``dag_id`` given) says what unpausing it does."""
    options = loaded.airflow_options
    section = _yaml({loaded.name: masked(loaded.raw_section)})  # the docs panel is readable by every UI user
    effective = _yaml({"Airflow (effective)": effective_options(loaded, configuration)})
    commit_note = (
        "`commit` applies to inline runs; an SQS-fed ship Lambda takes it from its `STARFLEET_COMMIT`"
        " environment variable, as in Starfleet."
        if options["delivery_mode"] is DeliveryMode.SQS
        else "`commit` is passed to the ship's `execute(commit)`; false is a dry run."
    )
    narrowing = {
        FanOutStrategy.SINGLE_INVOCATION: "`templates`",
        FanOutStrategy.ACCOUNT: "`templates`, `accounts` (ids or names)",
        FanOutStrategy.ACCOUNT_REGION: "`templates`, `accounts` (ids or names), `regions`",
    }[loaded.fan_out_strategy]
    warnings = [str(p) for p in configuration.warnings] + [str(p) for p in loaded.warnings]
    warning_lines = (
        [
            "## Configuration warnings",
            "",
            "Keys that nothing reads (ignored; `starfleet-airflow validate` fails on them):",
            "",
        ]
        + [f"* `{line}`" for line in warnings]
        + [""]
        if warnings
        else []
    )
    return "\n".join(
        [
            f"# {loaded.name}",
            "",
            docstring_of(loaded.ship_class),
            "",
            f"* **Fan-out:** {loaded.fan_out_strategy.value}",
            f"* **Delivery:** {options['delivery_mode'].value}"
            + (
                f" to `{loaded.configuration.get('invocation_queue_url')}`"
                if options["delivery_mode"] is DeliveryMode.SQS
                else ""
            ),
            f"* **Runs:** {schedule_text}",
            f"* **Templates:** `{loaded.configuration['template_prefix']}` under `{configuration.template_location}`",
            f"* **Account index:** `{configuration.account_index_location}`",
            f"* **Configuration file:** `{loaded.source_file}`",
            *review_doc_lines(loaded),
            "",
            f"Trigger with parameters to narrow a run (never to widen it): {narrowing}. {commit_note}",
            "",
            *warning_lines,
            *([UNPAUSE_NOTE.format(dag_id=dag_id), ""] if dag_id else []),
            "## Configuration",
            "",
            "```yaml",
            section.rstrip(),
            effective.rstrip(),
            "```",
        ]
    )
