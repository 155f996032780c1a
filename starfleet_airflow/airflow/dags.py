"""The DAG factory's entry point: every DAG of the deployment, one per enabled worker ship.

``build_dags`` reads the configuration folder and the ships (local files and imports only: parsing
makes no network call and reads no template or index), then builds each ship's DAG
(``starfleet_airflow.airflow.ship_dag``). A ship whose code or configuration cannot be loaded, or whose
DAG cannot be built, becomes a placeholder (``starfleet_airflow.airflow.broken_dag``) and never hides
the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starfleet_airflow.airflow.broken_dag import build_broken_dag
from starfleet_airflow.airflow.naming import (
    BROKEN_SUFFIX,
    DAG_ID_PREFIX,
    collision_message,
    dag_id_collisions,
    dag_id_for,
)
from starfleet_airflow.airflow.review.availability import ReviewUnavailableError
from starfleet_airflow.airflow.schedules import wants_s3_events
from starfleet_airflow.airflow.ship_dag import build_ship_dag
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.gc_pause import collector_paused
from starfleet_airflow.core.registry import ShipProblem, load_ships
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.runtime import activate

if TYPE_CHECKING:  # pragma: no cover - typing only
    from airflow.sdk import DAG

log = logging.getLogger(__name__)


def build_dags(
    config_dir: Path | str | None = None,
    ships_dir: Path | str | None = None,
    *,
    template_events_asset: Any = None,
) -> dict[str, DAG]:
    """Every DAG of the deployment, keyed by dag_id; never raises for a ship or configuration problem.

    ``config_dir`` defaults to ``$STARFLEET_CONFIG_DIR`` then ``./config``; ``ships_dir`` to
    ``$STARFLEET_SHIPS_DIR`` then the installed ``ships`` package. ``template_events_asset`` is the
    shared asset of template S3 events (ships listing ``S3`` are scheduled on it).
    """
    with collector_paused():  # about a third of a 50-ship parse was collections of Airflow objects
        return _build_dags(config_dir, ships_dir, template_events_asset)


def _problems_by_ship(problems: list[ShipProblem]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        grouped[problem.ship].append(str(problem))
    return grouped


def _build_dags(
    config_dir: Path | str | None, ships_dir: Path | str | None, template_events_asset: Any
) -> dict[str, DAG]:
    configuration = load_configuration(config_dir)
    dags: dict[str, DAG] = {}
    if not configuration.starfleet:
        messages = [str(problem) for problem in configuration.errors] or ["the STARFLEET section is missing"]
        log.error("starfleet configuration %s is unusable:\n%s", configuration.config_dir, "\n".join(messages))
        dag = build_broken_dag(DAG_ID_PREFIX + "configuration" + BROKEN_SUFFIX, "STARFLEET configuration", messages)
        dags[dag.dag_id] = dag
    elif configuration.errors:
        # Files that failed to parse: the ships they configure are missing; say so in one place.
        messages = [str(problem) for problem in configuration.errors]
        log.error("starfleet configuration problems:\n%s", "\n".join(messages))
        dag = build_broken_dag(DAG_ID_PREFIX + "configuration" + BROKEN_SUFFIX, "configuration files", messages)
        dags[dag.dag_id] = dag

    activate(ships_dir)  # Starfleet's import names, its plugins package over the ships folder
    with STARFLEET_CONFIGURATION.serving(configuration):  # a ship may read it while it imports
        registry = load_ships(configuration, Path(ships_dir) if ships_dir else None)
    if template_events_asset is None and any(wants_s3_events(s.configuration) for s in registry.ships.values()):
        from starfleet_airflow.airflow.template_events import template_events_asset as build_asset

        template_events_asset = build_asset(configuration)
    broken = _BrokenDags()
    collisions = dag_id_collisions(registry.ships)
    for dag_id, names in collisions.items():
        message = collision_message(dag_id, names)
        broken.add(dag_id, names, [f"{registry.ships[n].source_file}: {n}: {message}" for n in names])
    colliding = {name for names in collisions.values() for name in names}
    for name, loaded in sorted(registry.ships.items()):
        if name in colliding:
            continue  # neither takes the id: its run history would mix two ships
        try:
            dag = build_ship_dag(loaded, configuration, template_events_asset=template_events_asset)
        except ReviewUnavailableError as exc:  # expected on Airflow 3.0: say it plainly, no traceback
            broken.add(dag_id_for(name), [name], [str(exc)])
            continue
        except Exception as exc:  # a DAG that cannot be built must not hide the others
            log.exception("starfleet: cannot build the DAG of %s", name)
            broken.add(dag_id_for(name), [name], [f"cannot build the DAG: {type(exc).__name__}: {exc}"])
            continue
        dags[dag.dag_id] = dag
    for ship, messages in sorted(_problems_by_ship(registry.errors).items()):
        broken.add(dag_id_for(ship), [ship], messages)
    for dag in broken.build():
        dags[dag.dag_id] = dag
    return dags


class _BrokenDags:
    """Placeholders by DAG id: ships whose names share an id share one placeholder naming them all."""

    def __init__(self) -> None:
        self._by_id: dict[str, tuple[list[str], list[str]]] = {}

    def add(self, dag_id: str, ships: list[str], messages: list[str]) -> None:
        names, lines = self._by_id.setdefault(dag_id + BROKEN_SUFFIX, ([], []))
        names.extend(ship for ship in ships if ship not in names)
        lines.extend(messages)

    def build(self) -> list[DAG]:
        dags = []
        for dag_id, (names, messages) in sorted(self._by_id.items()):
            log.error("starfleet ship %s cannot be loaded:\n%s", ", ".join(names), "\n".join(messages))
            dags.append(build_broken_dag(dag_id, ", ".join(names), messages))
        return dags
