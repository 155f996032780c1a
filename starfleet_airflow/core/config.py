"""Load and validate the configuration folder: Starfleet's YAML sections, merged from every file.

A Starfleet deployment keeps its configuration in several YAML files (one for ``STARFLEET``, one per
ship); they load here unchanged. Files are read in file-name order so the result never depends on the
file system, and a section defined twice is an error rather than a silent override (Starfleet let the
last file win, which hides mistakes). Every problem is collected, so one ``validate`` run shows them
all. Nothing here touches the network: the folder is read at DAG parse time.

Ship sections are validated by the registry (it knows each ship's schema); this module validates the
``STARFLEET`` section and works out where templates, the account index and run snapshots live.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from starfleet_airflow.aws.locations import Location, LocationError, parse_location
from starfleet_airflow.core.index_plugins import DEFAULT_INDEX
from starfleet_airflow.core.schemas import StarfleetDefaultAccountIndexSchema, StarfleetSchema, error_items
from starfleet_airflow.core.unknown_keys import (
    DEFAULT_INDEX_KEYS,
    STARFLEET_SECTION_KEYS,
    declared_keys,
    unknown_keys,
)
from starfleet_airflow.core.yaml_loader import CONFIG_LIMITS, safe_load_yaml

CONFIG_DIR_ENV = "STARFLEET_CONFIG_DIR"
DEFAULT_CONFIG_DIR = "config"
STARFLEET_SECTION = "STARFLEET"
CONFIG_SUFFIXES = (".yaml", ".yml")
SNAPSHOT_PREFIX = "starfleet-airflow/snapshots/"
LOCAL_SNAPSHOT_DIR = Path(".starfleet") / "snapshots"


class ConfigurationError(Exception):
    """The configuration cannot be used; the message lists every problem, one per line."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: where (file, section, key) and what was expected."""

    file: Path | None
    section: str | None
    key: str | None
    message: str

    @property
    def where(self) -> str:
        """``Section.Key`` (either part may be absent)."""
        return ".".join(part for part in (self.section, self.key) if part)

    def __str__(self) -> str:
        parts = [str(self.file) if self.file else "<configuration>"]
        if self.where:
            parts.append(self.where)
        parts.append(self.message)
        return ": ".join(parts)


def resolve_config_dir(explicit: Path | str | None = None) -> Path:
    """The configuration folder: ``explicit``, else ``$STARFLEET_CONFIG_DIR``, else ``./config``."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(CONFIG_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return Path.cwd() / DEFAULT_CONFIG_DIR


@dataclass
class Configuration:
    """The merged configuration folder and what was derived from it.

    ``raw`` is the merged dict exactly as written (UpperCamelCase), what Starfleet ships read through
    ``STARFLEET_CONFIGURATION.config``. ``starfleet`` is the validated ``STARFLEET`` section
    (snake_case, defaults applied). The three locations are ``None`` only when ``errors`` explains why.
    """

    config_dir: Path
    raw: dict[str, Any] = field(default_factory=dict)
    starfleet: dict[str, Any] = field(default_factory=dict)
    section_files: dict[str, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    template_location: Location | None = None
    account_index_location: Location | None = None
    snapshot_location: Location | None = None
    # ``STARFLEET.AccountIndex`` when it names a plugin (not Starfleet's JSON index): then there is no location.
    account_index_plugin: str | None = None
    errors: list[ConfigProblem] = field(default_factory=list)
    # Keys nothing reads (often a typo): ``validate`` fails on them, the DAG docs show them, runs go on.
    warnings: list[ConfigProblem] = field(default_factory=list)
    # Files that could not be read (their text and why) and sections defined in several files: the
    # sections they hold cannot be trusted (``core.config_blockers``).
    unreadable: dict[Path, tuple[str, str]] = field(default_factory=dict)
    duplicates: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """Relative local paths in the configuration resolve against the folder holding ``config/``."""
        return self.config_dir.resolve().parent

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def has_account_index(self) -> bool:
        """An index is configured: a location for Starfleet's JSON index, or a plugin."""
        return self.account_index_location is not None or self.account_index_plugin is not None

    def section(self, name: str) -> dict[str, Any] | None:
        """A section as written, or None when no file defines it."""
        value = self.raw.get(name)
        return value if isinstance(value, dict) else None

    def raise_for_errors(self) -> None:
        """Raise ``ConfigurationError`` listing every problem, for callers that cannot go on without it."""
        if self.errors:
            raise ConfigurationError("\n".join(str(problem) for problem in self.errors))

    def _problem(self, section: str | None, key: str | None, message: str, file: Path | None = None) -> None:
        if file is None and section is not None:
            file = self.section_files.get(section)
        self.errors.append(ConfigProblem(file, section, key, message))


def configuration_files(config_dir: Path) -> list[Path]:
    """The YAML files of the folder (not recursive, dot files skipped), sorted by name."""
    return sorted(
        path
        for path in config_dir.iterdir()
        if path.is_file() and path.suffix in CONFIG_SUFFIXES and not path.name.startswith(".")
    )


def _read_yaml(path: Path) -> tuple[Any, str, str | None]:
    """Parse one file within its bounds: ``(document, text, problem)``; the problem names line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, "", f"cannot read the file ({exc})"
    document, problem = safe_load_yaml(text, CONFIG_LIMITS)
    return document, text, problem


def _merge_files(configuration: Configuration) -> None:
    """Read every file into ``raw``; record which file defined each section."""
    for path in configuration.files:
        data, text, error = _read_yaml(path)
        if error:
            configuration._problem(None, None, error, file=path)
            configuration.unreadable[path] = (text, error)
            continue
        if data is None:
            continue  # an empty file (or only comments) defines nothing
        if not isinstance(data, dict):
            configuration._problem(
                None, None, f"expected a mapping of section name to settings, got {type(data).__name__}", file=path
            )
            continue
        for section, value in data.items():
            name = str(section)
            if name in configuration.section_files:
                first = configuration.section_files[name]
                configuration._problem(name, None, f"section defined twice: in {first} and in {path}", file=path)
                configuration.duplicates.setdefault(name, [first]).append(path)
                continue
            configuration.section_files[name] = path
            configuration.raw[name] = value


def _validate_starfleet(configuration: Configuration) -> None:
    section = configuration.raw.get(STARFLEET_SECTION)
    if section is None:
        folder = configuration.config_dir
        configuration._problem(STARFLEET_SECTION, None, "missing section; expected it in a YAML file", file=folder)
        return
    if not isinstance(section, dict):
        configuration._problem(STARFLEET_SECTION, None, f"expected a mapping, got {type(section).__name__}")
        return
    _flag_unknown_keys(
        configuration, STARFLEET_SECTION, section, declared_keys(StarfleetSchema) | STARFLEET_SECTION_KEYS
    )
    try:
        configuration.starfleet = StarfleetSchema().load(section)
    except ValidationError as exc:
        for key, message in error_items(exc.messages):
            configuration._problem(STARFLEET_SECTION, key, message)


def _flag_unknown_keys(configuration: Configuration, name: str, section: dict[str, Any], known: set[str]) -> None:
    file = configuration.section_files.get(name)
    for key, message in unknown_keys(section, known):
        configuration.warnings.append(ConfigProblem(file, name, key, message))


def _location(configuration: Configuration, key: str, text: str) -> Location | None:
    try:
        return parse_location(text, configuration.base_dir)
    except LocationError as exc:
        configuration._problem(STARFLEET_SECTION, key, str(exc))
        return None


def _derive_locations(configuration: Configuration) -> None:
    """Where templates, the account index and run snapshots live (S3 or local)."""
    settings = configuration.starfleet
    if settings.get("template_location"):
        configuration.template_location = _location(configuration, "TemplateLocation", settings["template_location"])
    elif settings.get("template_bucket"):
        configuration.template_location = Location(settings["template_bucket"], "")

    index_name = settings["account_index"]
    if index_name != DEFAULT_INDEX:
        # A plugin class (Starfleet: a class name, never a section name); found at run time, not at parse time.
        configuration.account_index_plugin = index_name
        if settings.get("account_index_location"):
            configuration._problem(
                STARFLEET_SECTION,
                "AccountIndexLocation",
                f"is read by {DEFAULT_INDEX} only, but AccountIndex names the plugin {index_name};"
                " remove one of the two",
            )
    elif settings.get("account_index_location"):
        configuration.account_index_location = _location(
            configuration, "AccountIndexLocation", settings["account_index_location"]
        )
    else:
        configuration.account_index_location = _default_index_location(configuration, index_name)

    if settings.get("snapshot_location"):
        configuration.snapshot_location = _location(configuration, "SnapshotLocation", settings["snapshot_location"])
    elif configuration.template_location is not None and configuration.template_location.is_s3:
        configuration.snapshot_location = Location(configuration.template_location.bucket, SNAPSHOT_PREFIX)
    else:
        configuration.snapshot_location = Location(None, str(configuration.base_dir / LOCAL_SNAPSHOT_DIR))


def _default_index_location(configuration: Configuration, section_name: str) -> Location | None:
    """Starfleet's way: ``s3://IndexBucket/IndexObjectPath`` from the section ``STARFLEET.AccountIndex`` names."""
    section = configuration.raw.get(section_name)
    if section is None:
        configuration._problem(
            STARFLEET_SECTION,
            "AccountIndexLocation",
            f"expected AccountIndexLocation (s3://bucket/key or a local file) or a {section_name} section"
            " with IndexBucket and IndexObjectPath",
        )
        return None
    if not isinstance(section, dict):
        configuration._problem(section_name, None, f"expected a mapping, got {type(section).__name__}")
        return None
    known = declared_keys(StarfleetDefaultAccountIndexSchema) | DEFAULT_INDEX_KEYS
    _flag_unknown_keys(configuration, section_name, section, known)
    try:
        loaded = StarfleetDefaultAccountIndexSchema().load(section)
    except ValidationError as exc:
        for key, message in error_items(exc.messages):
            configuration._problem(section_name, key, message)
        return None
    return Location(loaded["index_bucket"], loaded["index_object_path"])


def load_configuration(config_dir: Path | str | None = None) -> Configuration:
    """Read, merge and validate the configuration folder; never raises for a content problem.

    Problems are collected in ``errors`` (see ``Configuration.raise_for_errors``). ``config_dir``
    defaults as in ``resolve_config_dir``.
    """
    folder = resolve_config_dir(config_dir)
    configuration = Configuration(config_dir=folder)
    if not folder.is_dir():
        configuration._problem(None, None, "no such configuration folder", file=folder)
        return configuration
    configuration.files = configuration_files(folder)
    if not configuration.files:
        configuration._problem(None, None, "no .yaml/.yml configuration files in the folder", file=folder)
        return configuration
    _merge_files(configuration)
    _validate_starfleet(configuration)
    if configuration.starfleet:
        _derive_locations(configuration)
    return configuration
