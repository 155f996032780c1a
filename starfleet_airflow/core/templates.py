"""Find and load a ship's payload templates, from S3 or from a local folder.

A ship's ``TemplatePrefix`` names either one ``.yaml`` key or a prefix searched recursively for
``.yaml`` keys, as in Starfleet. Both stores follow S3's prefix rule (a key matches when it starts with
the prefix), so a template set behaves the same in the local demo and in the bucket.

Template keys are relative to the template store root (``TemplateLocation``, or the root of
``TemplateBucket``): with Starfleet's layout that is exactly the S3 object key. A template that cannot
be read or parsed carries its error and never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from marshmallow import ValidationError

from starfleet_airflow.aws.locations import Location, LocationError, list_keys, read_bytes
from starfleet_airflow.core.schemas import flatten_errors
from starfleet_airflow.core.ship import StarfleetWorkerShip
from starfleet_airflow.core.template_json import json_problems
from starfleet_airflow.core.yaml_loader import TEMPLATE_LIMITS, safe_load_yaml

TEMPLATE_SUFFIX = ".yaml"


class TemplateError(Exception):
    """A ship's templates could not be listed; the message names the location and the cause."""


@dataclass(frozen=True)
class LoadedTemplate:
    """One template: its key, the mapping as loaded from YAML, or why it could not be loaded."""

    key: str
    raw: dict[str, Any] | None
    error: str | None
    location: Location

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def name(self) -> str | None:
        """``TemplateName`` when the template has one (for labels and selection)."""
        value = (self.raw or {}).get("TemplateName")
        return str(value) if value is not None else None


def parse_template_bytes(data: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Load one template within its bounds; it must be a mapping that survives JSON unchanged.

    The one loader of templates (the template store, template files, the CLI): the error names the line
    and what was expected, or each value JSON cannot carry (``core.template_json``).
    """
    raw, problem = safe_load_yaml(data, TEMPLATE_LIMITS)
    if problem is not None:
        return None, problem
    if not isinstance(raw, dict):
        return None, f"expected a mapping of template fields, got {'nothing' if raw is None else type(raw).__name__}"
    problems = json_problems(raw)
    if problems:
        return None, "; ".join(problems)
    return raw, None


class TemplateStore:
    """The template store: a root location and, for S3, the client to reach it.

    The caller supplies the S3 client (Airflow hands over its S3Hook client, the CLI a boto3 client),
    so this module never decides how to authenticate.
    """

    def __init__(self, root: Location, s3_client: Any = None) -> None:
        self.root = root
        self.s3_client = s3_client

    def location_of(self, key: str) -> Location:
        """Where one template key lives."""
        return self.root.child(key)

    def list(self, template_prefix: str) -> list[str]:
        """Keys of the ship's templates, sorted; raises TemplateError when the store cannot be listed.

        A prefix ending in ``.yaml`` names one template and is returned without a listing call (a
        missing one then fails on load, with its key). A prefix with no templates gives ``[]``.
        """
        if template_prefix.endswith(TEMPLATE_SUFFIX):
            return [template_prefix]
        try:
            if self.root.is_s3:
                keys = list_keys(self.location_of(template_prefix), TEMPLATE_SUFFIX, self.s3_client)
                offset = len(self.location_of("").key)
                return sorted(key[offset:] for key in keys)
            root = Path(self.root.key)
            if not root.is_dir():
                raise TemplateError(f"template location {self.root}: no such folder")
            paths = list_keys(self.root, TEMPLATE_SUFFIX)
        except LocationError as exc:
            raise TemplateError(f"cannot list templates: {exc}") from exc
        relative = (PurePosixPath(Path(path).relative_to(root)).as_posix() for path in paths)
        return sorted(key for key in relative if key.startswith(template_prefix))

    def load(self, key: str) -> LoadedTemplate:
        """Read and parse one template; problems are carried in ``error``, never raised."""
        location = self.location_of(key)
        try:
            data = read_bytes(location, self.s3_client)
        except LocationError as exc:
            return LoadedTemplate(key, None, f"cannot read the template ({exc})", location)
        raw, error = parse_template_bytes(data)
        return LoadedTemplate(key, raw, error, location)

    def load_all(self, template_prefix: str) -> list[LoadedTemplate]:
        """Every template of the prefix, loaded; raises TemplateError only when listing fails."""
        return [self.load(key) for key in self.list(template_prefix)]


def load_template_file(path: Path) -> LoadedTemplate:
    """A template given as a plain file (the CLI's ``--template FILE``)."""
    location = Location(None, str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        return LoadedTemplate(str(path), None, f"cannot read the template ({exc.strerror or exc})", location)
    raw, error = parse_template_bytes(data)
    return LoadedTemplate(str(path), raw, error, location)


def validate_template(
    ship_class: type[StarfleetWorkerShip], raw: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[str]]:
    """Load a raw template with the ship's payload schema: ``(payload, [])`` or ``(None, errors)``.

    Errors read ``Key.SubKey: message``, one per problem, all of them.
    """
    try:
        return ship_class.payload_template_class().load(raw), []
    except ValidationError as exc:
        return None, flatten_errors(exc.messages)


def template_name_matches(template: LoadedTemplate, selector: str, template_prefix: str = "") -> bool:
    """Does ``selector`` name this template?

    Accepted: the key, the key relative to the ship's ``TemplatePrefix``, the file name (with or
    without ``.yaml``, also relative to the prefix), or the template's ``TemplateName``.
    """
    key = template.key
    candidates = {key, _strip_suffix(key)}
    if template_prefix and not template_prefix.endswith(TEMPLATE_SUFFIX) and key.startswith(template_prefix):
        relative = key[len(template_prefix) :].lstrip("/")
        candidates |= {relative, _strip_suffix(relative)}
    file_name = PurePosixPath(key).name
    candidates |= {file_name, _strip_suffix(file_name)}
    if template.name is not None:
        candidates.add(template.name)
    return selector in candidates


def select_templates(
    templates: list[LoadedTemplate], selectors: list[str], template_prefix: str = ""
) -> tuple[list[LoadedTemplate], list[str]]:
    """Templates matched by any selector, in listing order, and the selectors that matched nothing."""
    chosen = [t for t in templates if any(template_name_matches(t, s, template_prefix) for s in selectors)]
    unmatched = [s for s in selectors if not any(template_name_matches(t, s, template_prefix) for t in templates)]
    return chosen, unmatched


def _strip_suffix(key: str) -> str:
    return key[: -len(TEMPLATE_SUFFIX)] if key.endswith(TEMPLATE_SUFFIX) else key
