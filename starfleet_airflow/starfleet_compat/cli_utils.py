"""``starfleet.worker_ships.cli_utils``: Starfleet's click command classes for ship CLIs.

A ship's click group sets ``ctx.obj = TheShip()``; its commands use one of these classes, which add
``--payload`` (a YAML file, loaded by ``load_payload``), ``--commit`` and, per strategy, ``--account-id`` and
``--region``. Before the command runs, the template is validated with the ship's payload schema and, for
ACCOUNT / ACCOUNT_REGION ships, the account (and region) must be one the template selects in ``ACCOUNT_INDEX``;
the ``StarbaseAssigned*`` keys are then set, as the Starbase would. The groups run under
``starfleet-airflow starfleet <group> <command>`` (the CLI sends no Slack alerts, as Starfleet's does not).
"""

from __future__ import annotations

from io import TextIOWrapper
from typing import Any

import click
import yaml
from click import ClickException, Command, Context, Option

from starfleet_airflow.core.schemas.payload import (
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    WorkerShipPayloadBaseTemplate,
)
from starfleet_airflow.core.ship import StarfleetWorkerShip
from starfleet_airflow.starfleet_compat.resolvers import (
    resolve_worker_template_account_regions,
    resolve_worker_template_accounts,
)


def load_payload(ctx: Context, param: Option, value: TextIOWrapper) -> dict[str, Any]:
    """click callback: the ``--payload`` file as YAML (``yaml.safe_load``); not validated yet."""
    try:
        loaded = yaml.safe_load(value.read())
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"{value.name}: invalid YAML ({exc})", ctx=ctx, param=param) from exc
    if not loaded:
        raise ClickException(f"[💥] The loaded YAML is EMPTY!! ({value.name})")
    if not isinstance(loaded, dict):
        raise click.BadParameter(f"{value.name}: expected a mapping, got {type(loaded).__name__}", ctx=ctx, param=param)
    return loaded


class BadWorkerError(Exception):
    """The click group did not set ``ctx.obj`` to a ship instance."""


class BadWorkerTemplateError(Exception):
    """The command class does not fit the ship's payload schema (e.g. an account-region command on an ACCOUNT ship)."""


def _payload_option() -> Option:
    return click.Option(
        ["--payload"],
        required=True,
        type=click.File("r"),
        callback=load_payload,
        help="This is the worker payload YAML",
    )


def _commit_option() -> Option:
    return click.Option(
        ["--commit"], is_flag=True, default=False, show_default=True, help="Must be supplied for changes to be made"
    )


def _account_option() -> Option:
    return click.Option(["--account-id"], required=True, type=str, help="The AWS account ID to operate in")


def _region_option() -> Option:
    return click.Option(["--region"], required=True, type=str, help="The AWS region to operate in")


class _StarfleetCommand(Command):
    """Adds the class's options after the command's own, checks the ship, validates the template."""

    payload_base: type = WorkerShipPayloadBaseTemplate
    strategy_name = "SINGLE_INVOCATION"

    def __init__(self, name: str, callback: Any, **kwargs: Any) -> None:
        params = list(kwargs.pop("params", None) or [])
        params += self.extra_options()
        super().__init__(name, callback=callback, params=params, **kwargs)

    def extra_options(self) -> list[Option]:
        return [_payload_option(), _commit_option()]

    def loaded_worker(self, ctx: Context) -> StarfleetWorkerShip:
        worker = ctx.obj
        if not isinstance(worker, StarfleetWorkerShip):
            click.echo("[⛔] The ship's click group must set `ctx.obj = YourWorkerShip()`.", err=True)
            raise BadWorkerError(f"ctx.obj is {type(worker).__name__}, not a StarfleetWorkerShip")
        if not issubclass(worker.payload_template_class, self.payload_base):
            click.echo(f"[⛔] {type(self).__name__} is for {self.strategy_name} ships.", err=True)
            raise BadWorkerTemplateError(
                f"{worker.worker_ship_name}'s payload schema {worker.payload_template_class.__name__} does not"
                f" derive from {self.payload_base.__name__}"
            )
        click.echo("[🛃] Validating the template...")
        worker.load_template(ctx.params["payload"])
        return worker

    def invoke(self, ctx: Context) -> Any:
        worker = self.loaded_worker(ctx)
        click.echo(f"[🆗] Template OK: Executing worker: {worker.worker_ship_name}...")
        return super().invoke(ctx)


class StarfleetSingleInvokeCommand(_StarfleetCommand):
    """A SINGLE_INVOCATION ship's command: ``--payload``, ``--commit``."""


class StarfleetAccountCommand(_StarfleetCommand):
    """An ACCOUNT ship's command: ``--payload``, ``--account-id``, ``--commit``."""

    payload_base = BaseAccountPayloadTemplate
    strategy_name = "ACCOUNT"

    def extra_options(self) -> list[Option]:
        return [_payload_option(), _account_option(), _commit_option()]

    def invoke(self, ctx: Context) -> Any:
        worker = self.loaded_worker(ctx)
        account_id = ctx.params["account_id"]
        if account_id not in resolve_worker_template_accounts(worker.payload):
            raise ClickException("[🙅‍♂️] The account provided is not applicable for this template. Not doing anything.")
        worker.payload["starbase_assigned_account"] = account_id
        click.echo(f"[🆗] Template OK: Executing worker: {worker.worker_ship_name}...")
        return Command.invoke(self, ctx)


class StarfleetAccountRegionCommand(_StarfleetCommand):
    """An ACCOUNT_REGION ship's command: ``--payload``, ``--account-id``, ``--region``, ``--commit``."""

    payload_base = BaseAccountRegionPayloadTemplate
    strategy_name = "ACCOUNT_REGION"

    def extra_options(self) -> list[Option]:
        return [_payload_option(), _account_option(), _region_option(), _commit_option()]

    def invoke(self, ctx: Context) -> Any:
        worker = self.loaded_worker(ctx)
        account_id, region = ctx.params["account_id"], ctx.params["region"]
        if region not in resolve_worker_template_account_regions(worker.payload).get(account_id, set()):
            raise ClickException(
                "[🙅‍♂️] The account/region provided is not applicable for this template. Not doing anything."
            )
        worker.payload["starbase_assigned_account"] = account_id
        worker.payload["starbase_assigned_region"] = region
        click.echo(f"[🆗] Template OK: Executing worker: {worker.worker_ship_name}...")
        return Command.invoke(self, ctx)


__all__ = [
    "BadWorkerError",
    "BadWorkerTemplateError",
    "StarfleetAccountCommand",
    "StarfleetAccountRegionCommand",
    "StarfleetSingleInvokeCommand",
    "load_payload",
]
