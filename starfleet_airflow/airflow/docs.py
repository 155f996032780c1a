"""A ship DAG's documentation: the ship's docstring, what starts it, and its effective configuration."""

from __future__ import annotations

import re
from typing import Any

import yaml

from starfleet_airflow.airflow.naming import docstring_of
from starfleet_airflow.airflow.review.docs import review_doc_lines
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy, InvocationSource
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.schemas import AirflowShipOptions


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
    """The ``Airflow`` options with defaults applied, as YAML keys (what the run really uses)."""
    options = AirflowShipOptions().dump(loaded.airflow_options)
    tolerance = loaded.airflow_options["failure_tolerance"]
    options["FailureTolerance"] = f"{tolerance['percent']}%" if "percent" in tolerance else tolerance.get("count", 0)
    if not options.get("AwsConnId"):
        options["AwsConnId"] = f"{configuration.starfleet.get('aws_conn_id', 'aws_default')} (STARFLEET.AwsConnId)"
    return options


# Airflow's behaviour, said where the trigger is: the form's "Unpause on trigger" (on by default) lets the
# scheduler create the latest scheduled run at once, at full scope, next to the narrowed one.
UNPAUSE_NOTE = (
    "**Paused DAG, scheduled ship:** unpausing it (the trigger form's *Unpause on trigger*, on by default, does)"
    " makes Airflow start the latest scheduled run at once, at full scope and with the default `commit`,"
    " besides a narrowed manual run. Untick it to run only what you trigger."
)


def ship_doc_md(loaded: LoadedShip, configuration: Configuration, schedule_text: str) -> str:
    """The DAG's ``doc_md``."""
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
    timed = InvocationSource.EVENTBRIDGE_TIMED_EVENT in loaded.configuration["invocation_sources"]
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
            UNPAUSE_NOTE if timed else "",
            "",
            "## Configuration",
            "",
            "```yaml",
            section.rstrip(),
            effective.rstrip(),
            "```",
        ]
    )
