"""Switch Starfleet's import names on, for the ships folder a process loads its ships from.

Every entry point that loads ships calls ``activate`` first (the DAG file through ``build_dags``, the Lambda
handler, the CLI, ``worker_lambda``): then a Starfleet ship imports unchanged, its own modules included as
``starfleet.worker_ships.plugins.<ship>``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from starfleet_airflow.core.registry import DEFAULT_SHIPS_PACKAGE, default_ships_dir
from starfleet_airflow.starfleet_compat.namespace import install


def ships_folders(ships_dir: Path | str | None = None) -> list[Path]:
    """The folder(s) ships load from: ``ships_dir``, else ``$STARFLEET_SHIPS_DIR``, else the ``ships`` package."""
    chosen = Path(ships_dir) if ships_dir else default_ships_dir()
    if chosen is not None:
        return [chosen.expanduser()]
    try:
        package = importlib.import_module(DEFAULT_SHIPS_PACKAGE)
    except ImportError:
        return []
    return [Path(p) for p in getattr(package, "__path__", [])]


def activate(ships_dir: Path | str | None = None) -> bool:
    """Serve ``starfleet.*`` with ``starfleet.worker_ships.plugins`` over the ships folder.

    False when a real ``starfleet`` is installed (it is used instead; a warning says where).
    """
    return install(ships_folders(ships_dir))
