"""Strict reading of the user's YAML files (feeds.yaml, alerts/*.yaml).

PyYAML follows YAML 1.1, where `no` is False, `1:30` is 90 and `2024-01-01` a date. A user who writes
`name: no` or `tags: [on]` means text, so a plain scalar that YAML would turn into anything but a string
is refused where a string is expected, and every message names the file, the line and the field.
This module reads nodes (which keep their line numbers) rather than Python objects for that reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from monitor.errors import ConfigError

MAX_FILE_BYTES = 1024 * 1024
_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_TAG_NAMES = {
    _BOOL: "a boolean",
    _INT: "a number",
    _FLOAT: "a number",
    _NULL: "null",
    "tag:yaml.org,2002:timestamp": "a date",
}


@dataclass(frozen=True, slots=True)
class Field:
    """A node with the place it came from, so every error can say where."""

    node: yaml.Node
    file: Path
    path: str  # dotted field path, e.g. feeds[3].interval

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def error(self, message: str) -> str:
        return f"{self.file}:{self.line}: {self.path}: {message}"

    def child(self, node: yaml.Node, key: str | int) -> Field:
        path = f"{self.path}[{key}]" if isinstance(key, int) else (f"{self.path}.{key}" if self.path else key)
        return Field(node, self.file, path)

    # -- shapes ------------------------------------------------------------------------------

    def mapping(self, allowed: set[str], problems: list[str]) -> dict[str, Field]:
        """The mapping's fields by key; unknown and duplicate keys are reported."""
        if not isinstance(self.node, yaml.MappingNode):
            problems.append(self.error("expected a mapping of keys to values"))
            return {}
        fields: dict[str, Field] = {}
        for key_node, value_node in self.node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = Field(key_node, self.file, self.path)
            if not isinstance(key, str):
                problems.append(where.error("keys must be plain names"))
                continue
            if key in fields:
                problems.append(where.error(f"duplicate key {key!r}"))
                continue
            if key not in allowed:
                problems.append(
                    self.child(key_node, key).error(f"unknown key; allowed keys are {', '.join(sorted(allowed))}")
                )
                continue
            fields[key] = self.child(value_node, key)
        return fields

    def items(self, problems: list[str]) -> Iterator[Field]:
        if not isinstance(self.node, yaml.SequenceNode):
            problems.append(self.error("expected a list"))
            return
        for index, node in enumerate(self.node.value):
            yield self.child(node, index)

    # -- scalars -----------------------------------------------------------------------------

    def text(self, problems: list[str]) -> str | None:
        """A string; refuses YAML 1.1 coercions (`no`, `1.0`, `2024-01-01`, `~`)."""
        node = self.node
        if not isinstance(node, yaml.ScalarNode):
            problems.append(self.error("expected a single value, not a list or mapping"))
            return None
        if node.tag != _STR:
            kind = _TAG_NAMES.get(node.tag, node.tag)
            problems.append(self.error(f"{node.value!r} would be read as {kind}; put it in quotes if you mean text"))
            return None
        value = str(node.value).strip()
        if not value:
            problems.append(self.error("must not be empty"))
            return None
        return value

    def boolean(self, problems: list[str]) -> bool | None:
        """Only `true` or `false`: `yes`, `on` and friends are YAML 1.1 surprises and refused."""
        node = self.node
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL and node.value in ("true", "false"):
            return bool(node.value == "true")
        value = node.value if isinstance(node, yaml.ScalarNode) else "a list or mapping"
        problems.append(self.error(f"expected true or false, got {value!r}"))
        return None

    def number(self, problems: list[str]) -> float | None:
        node = self.node
        if isinstance(node, yaml.ScalarNode) and node.tag in (_INT, _FLOAT) and node.style is None:
            try:
                return float(str(node.value).replace("_", ""))
            except ValueError:
                pass
        value = node.value if isinstance(node, yaml.ScalarNode) else "a list or mapping"
        problems.append(self.error(f"expected a number, got {value!r}"))
        return None

    def text_list(self, problems: list[str]) -> tuple[str, ...]:
        values = [item.text(problems) for item in self.items(problems)]
        return tuple(v for v in values if v is not None)


def read_yaml(path: Path) -> Field | None:
    """Read `path` as a YAML node tree; None for an empty file. Syntax errors name file and line."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:  # PyYAML reads ~1 MB/s: a huge file would stall start-up
            raise ConfigError(f"{path}: file too large ({path.stat().st_size:,} bytes; the limit is 1 MiB)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        start = exc.context_mark
        if start is not None and mark is not None and start.line != mark.line:  # e.g. where an unclosed quote began
            problem += f" (the construct starts on line {start.line + 1})"
        raise ConfigError(f"{path}{line}: invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if node is None:
        return None
    return Field(node, path, "")
