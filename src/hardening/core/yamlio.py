"""YAML loading for user-written files: plain data (dates stay strings) and line numbers for errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hardening.core.errors import InputError


class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps: `2027-03-31` stays the string the user wrote."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class LoadedYaml:
    """A parsed YAML document that can say on which line a JSON pointer is."""

    def __init__(self, path: Path, data: Any, node: yaml.Node | None) -> None:
        self.path = path
        self.data = data
        self._node = node

    def line_of(self, parts: list[str | int]) -> int | None:
        node = self._node
        line = node.start_mark.line + 1 if node is not None else None
        for part in parts:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if str(key_node.value) == str(part):
                        node = value_node
                        line = key_node.start_mark.line + 1
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def where(self, parts: list[str | int]) -> str:
        """Human place: JSON pointer plus the line it starts on."""
        pointer = "/" + "/".join(str(p) for p in parts) if parts else "/"
        line = self.line_of(parts)
        return f"{pointer} (line {line})" if line else pointer


def load_yaml(path: Path, error: type[InputError] = InputError) -> LoadedYaml:
    """Parse a YAML file; raise `error` naming the file and line on syntax errors or absence."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(str(path), "/", "file not found") from None
    except UnicodeDecodeError as exc:
        raise error(str(path), "/", f"not UTF-8 text ({exc.reason})") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "/"
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(str(path), where, f"YAML syntax error: {problem}") from None
    return LoadedYaml(path, data, node)
