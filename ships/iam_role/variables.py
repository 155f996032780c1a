"""Per-account variables in IAM role templates: ``${AccountId}``, ``${Partition}``, template ``Variables``.

One template serves hundreds of accounts, yet some values differ per account (the account id inside a
policy ARN, the partition of a GovCloud account). Templates write ``${Name}`` and the ship substitutes
the value for the account it works in.

IAM policies have their own ``${...}`` syntax (``${aws:username}``, ``${aws:PrincipalTag/team}``, and the
special characters ``${*}``, ``${?}``, ``${$}``), which must reach IAM untouched. The two never collide:
an IAM policy variable always contains a colon or is one of the special characters, while ours is a plain
identifier. Anything else between ``${`` and ``}`` (a typo such as ``${Account Id}``) is refused rather
than silently passed on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

#: Variables the ship always knows for the account it works in.
BUILTIN_VARIABLES: tuple[str, ...] = ("AccountId", "AccountName", "Partition", "Region")

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IAM_SPECIAL_VARIABLES = frozenset({"*", "?", "$"})


class VariableError(ValueError):
    """A placeholder that is not a known variable; ``problems`` lists ``where: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def is_iam_policy_variable(content: str) -> bool:
    """True for what IAM itself substitutes (``aws:username``, ``*``): left untouched by the ship."""
    return ":" in content or content in IAM_SPECIAL_VARIABLES


def placeholders(text: str) -> Iterator[str]:
    """The names of our variables in ``text`` (IAM policy variables skipped), malformed ones included."""
    for match in PLACEHOLDER.finditer(text):
        content = match.group(1)
        if not is_iam_policy_variable(content):
            yield content


def walk_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a nested structure (mapping keys included) with its ``Key.Sub[0]`` path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield f"{child} (key)", key
            yield from walk_strings(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


def find_unknown(value: Any, path: str, known: set[str] | frozenset[str]) -> list[str]:
    """One ``path: message`` line per placeholder in ``value`` that is not a known variable."""
    problems: list[str] = []
    for where, text in walk_strings(value, path):
        for name in placeholders(text):
            if not IDENTIFIER.match(name):
                problems.append(
                    f"{where}: malformed variable ${{{name}}}; expected ${{Name}} with a letter or underscore"
                    " followed by letters, digits or underscores (IAM policy variables such as"
                    " ${aws:username} are left to IAM)"
                )
            elif name not in known:
                problems.append(
                    f"{where}: unknown variable ${{{name}}}; known variables are {', '.join(sorted(known))}"
                    " (add it under Variables to define it)"
                )
    return problems


def substitute(value: Any, resolve: Callable[[str], str]) -> Any:
    """A copy of ``value`` with every one of our placeholders replaced by ``resolve(name)``.

    ``resolve`` is called lazily, once per distinct name, so a costly variable (the account name needs
    the account index) is looked up only when a template uses it. Unknown names must have been refused
    at validation; ``resolve`` raises for them anyway.
    """
    cache: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        content = match.group(1)
        if is_iam_policy_variable(content):
            return match.group(0)
        if content not in cache:
            cache[content] = resolve(content)
        return cache[content]

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return PLACEHOLDER.sub(replace, item)
        if isinstance(item, Mapping):
            return {walk(key): walk(sub) for key, sub in item.items()}
        if isinstance(item, list | tuple):
            return [walk(sub) for sub in item]
        return item

    return walk(value)
