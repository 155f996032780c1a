"""YAML in, safely and within bounds, with an error that says where: one loader for every YAML input.

``yaml.safe_load`` refuses arbitrary objects but not size: YAML anchors and aliases share one node, so
eight lines of nested aliases (``L1: &a1 [*a0, *a0, ...]``) load in microseconds and then expand to
billions of values the moment anything walks them (a JSON dump, a deep copy, a schema). A deeply
nested flow sequence (``[[[[...``) exhausts Python's stack inside the composer instead. So every YAML
input is read by ``BoundedSafeLoader``, which refuses, before anything is built from it:

* a file larger than ``max_bytes``;
* nesting deeper than ``max_depth`` (checked while composing, so the stack never runs out);
* a document whose size once its aliases are expanded (estimated as the JSON it would dump to) exceeds
  ``max_expanded_bytes``, and aliases that refer to their own ancestors (a document that never ends).

Templates use ``TEMPLATE_LIMITS``, tied to what a template can usefully be: Starfleet sends each one as
an SQS message, which SQS caps at 256 KiB. Configuration files use ``CONFIG_LIMITS``. Every problem
comes back as ``(None, "message")``; callers prefix their own file.

Speed: the configuration is read at every parse of the DAG file, and PyYAML's pure-Python scanner is
most of its cost. When PyYAML was built with libyaml (its wheels are), ``BoundedCSafeLoader`` takes its
events from libyaml's parser (an explicit stack, no recursion) and composes them with the same bounded
Python composer: 5-8x faster than ``BoundedSafeLoader`` with the same limits. libyaml's own composer
(``yaml.CSafeLoader``) is not used: its recursion has no depth bound. A document it refuses is read
again by the pure-Python loader, so that syntax errors read the same everywhere.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python loader only
    CParser = None

SQS_MESSAGE_LIMIT = 262_144


class YamlLimits(NamedTuple):
    """Bounds on one YAML input; see the module docstring."""

    max_bytes: int
    max_depth: int
    max_expanded_bytes: int
    why: str  # what the expanded-size bound comes from, for the message


TEMPLATE_LIMITS = YamlLimits(
    max_bytes=1_048_576,
    max_depth=64,
    max_expanded_bytes=SQS_MESSAGE_LIMIT,
    why="a template travels as one SQS message, which SQS caps at 256 KiB",
)
CONFIG_LIMITS = YamlLimits(
    max_bytes=1_048_576,
    max_depth=64,
    max_expanded_bytes=4 * 1_048_576,
    why="a configuration file is read at every DAG parse",
)


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML input exceeds its limits; ``problem`` says which and by how much."""


class _Bounds:
    """The bounds, as a mixin over a composer: depth while composing, expansion once composed."""

    limits: ClassVar[YamlLimits] = TEMPLATE_LIMITS
    _depth: int = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                raise YamlLimitError(problem=f"nested deeper than {self.limits.max_depth} levels", problem_mark=mark)
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1

    def compose_document(self) -> Node | None:
        node = super().compose_document()  # type: ignore[misc]
        if node is not None:
            check_expansion(node, self.limits)
        return node


class BoundedSafeLoader(_Bounds, yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses inputs beyond ``limits`` while composing, before constructing."""


if CParser is not None:

    class BoundedCSafeLoader(_Bounds, Composer, CParser, SafeConstructor, Resolver):  # type: ignore[misc,valid-type]
        """libyaml's parser under the bounded Python composer (``Composer`` before ``CParser``)."""

        def __init__(self, stream: Any) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


def _estimate(node: Node, sizes: dict[int, int], path: set[int]) -> int:
    """The JSON size of ``node`` with every alias expanded, memoised per node (aliases share nodes)."""
    key = id(node)
    known = sizes.get(key)
    if known is not None:
        return known
    if key in path:
        raise YamlLimitError(problem="an alias refers to itself (a document without end)", problem_mark=node.start_mark)
    if isinstance(node, ScalarNode):
        size = len(node.value) + 2
    else:
        path.add(key)
        if isinstance(node, MappingNode):
            size = 2 + sum(_estimate(k, sizes, path) + _estimate(v, sizes, path) + 4 for k, v in node.value)
        elif isinstance(node, SequenceNode):
            size = 2 + sum(_estimate(item, sizes, path) + 2 for item in node.value)
        else:  # pragma: no cover - the composer builds only these three kinds
            size = 0
        path.discard(key)
    sizes[key] = size
    return size


def check_expansion(node: Node, limits: YamlLimits) -> None:
    """Raise ``YamlLimitError`` when ``node`` expands beyond ``limits.max_expanded_bytes``.

    Linear in the number of distinct nodes (sizes are memoised), so an alias bomb costs as little to
    measure as it costs to compose; depth is already bounded by the composer.
    """
    size = _estimate(node, {}, set())
    if size > limits.max_expanded_bytes:
        raise YamlLimitError(
            problem=f"expands to about {size:,} bytes once its YAML aliases are expanded; expected at most"
            f" {limits.max_expanded_bytes:,} bytes ({limits.why})"
        )


_LOADERS: dict[tuple[YamlLimits, bool], type[_Bounds]] = {}


def _loader_for(limits: YamlLimits, fast: bool) -> type[_Bounds]:
    """The loader class bound to ``limits``: libyaml-backed when ``fast`` and available."""
    loader = _LOADERS.get((limits, fast))
    if loader is None:
        base = BoundedCSafeLoader if fast and CParser is not None else BoundedSafeLoader
        loader = _LOADERS[(limits, fast)] = type(base.__name__, (base,), {"limits": limits})
    return loader


def safe_load_yaml(data: str | bytes, limits: YamlLimits) -> tuple[Any, str | None]:
    """Load one YAML document within ``limits``: ``(document, None)`` or ``(None, problem)``, never raises.

    The problem names the line and column when YAML knows them; configuration files and templates
    report their YAML errors this one way, each prefixed with its own file by the caller.
    """
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > limits.max_bytes:
        return None, f"the file has {size:,} bytes; expected at most {limits.max_bytes:,} bytes"
    try:
        return yaml.load(data, Loader=_loader_for(limits, fast=True)), None
    except YamlLimitError as exc:
        return None, _describe(exc)
    except (yaml.YAMLError, RecursionError):
        pass  # read again by the pure-Python loader: its messages are the ones users (and tests) know
    try:
        return yaml.load(data, Loader=_loader_for(limits, fast=False)), None
    except yaml.YAMLError as exc:
        return None, _describe(exc)
    except RecursionError:  # a stack smaller than the depth limit assumes (a thread's, say)
        return None, f"nested too deeply for this process's stack; expected at most {limits.max_depth} levels"


def _describe(exc: yaml.YAMLError) -> str:
    """``invalid YAML at line L, column C: problem``; a limit: ``problem (line L, column C)``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, YamlLimitError):
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else problem
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"
