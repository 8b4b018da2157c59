"""YAML loading for every user-written file: plain data, strict, with line numbers for errors.

One loader for all YAML inputs (hosts, groups, defaults, site, systems, waivers, approvers). Beyond
PyYAML's SafeLoader it refuses what would silently change the meaning of a file or stall the run:

- a mapping key given twice (YAML keeps the last one without a word; an inventory must not hide a host
  or a setting below another of the same name);
- ``.nan`` / ``.inf`` numbers (a NaN limit makes every comparison false, so a drift would pass, and it
  cannot be written as JSON);
- aliases that expand to more than ALIAS_GROWTH_LIMIT nodes beyond what is written, or refer to
  themselves (the "billion laughs" alias bomb).

Dates stay the strings the user wrote (no implicit timestamps).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.cyaml import CParser  # type: ignore[attr-defined]
from yaml.events import AliasEvent
from yaml.reader import Reader
from yaml.resolver import Resolver

from hardening.core.errors import InputError

# Nodes that aliases may add to a document beyond the ones written in it. Anchors for shared settings
# stay far below this; an alias bomb exceeds it after a few levels.
ALIAS_GROWTH_LIMIT = 10_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NOT_PRINTABLE = Reader.NON_PRINTABLE


class _Strict:
    """What the project's loaders add to PyYAML's safe loading: duplicate-key, non-finite-number and alias checks
    (mixed into a loader before its Composer and SafeConstructor)."""

    anchors: dict[Any, yaml.Node]

    def _strict_init(self) -> None:
        self._expanded_sizes: dict[int, int] = {}
        self._alias_growth = 0
        self._composing: list[str | None] = []  # anchors of the collections being composed (innermost last)

    # -- aliases: bounded expansion ------------------------------------------------------------------------------

    def _expanded_size(self, node: yaml.Node, mark: yaml.Mark) -> int:
        """How many nodes `node` stands for once every alias in it is expanded (memoised per node; the
        node is complete: an alias to a collection still being composed is refused before)."""
        key = id(node)
        if key in self._expanded_sizes:
            return self._expanded_sizes[key]
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._expanded_size(item, mark) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._expanded_size(k, mark) + self._expanded_size(v, mark) for k, v in node.value)
        if size > ALIAS_GROWTH_LIMIT + 1:
            raise ComposerError(None, None, f"alias expands to more than {ALIAS_GROWTH_LIMIT} nodes (alias bomb?)",
                                mark)
        self._expanded_sizes[key] = size
        return size

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(AliasEvent):  # type: ignore[attr-defined]
            event = self.peek_event()  # type: ignore[attr-defined]
            anchor = event.anchor
            if anchor in self._composing:
                raise ComposerError(None, None, f"recursive alias *{anchor} (a node that contains itself)",
                                    event.start_mark)
            if anchor in self.anchors:
                target = self.anchors[anchor]
                self._alias_growth += self._expanded_size(target, event.start_mark) - 1
                if self._alias_growth > ALIAS_GROWTH_LIMIT:
                    raise ComposerError(None, None, f"aliases expand the document by more than "
                                        f"{ALIAS_GROWTH_LIMIT} nodes (alias bomb?)", event.start_mark)
        return super().compose_node(parent, index)  # type: ignore[misc,no-any-return]

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        self._composing.append(anchor)
        try:
            return super().compose_sequence_node(anchor)  # type: ignore[misc,no-any-return]
        finally:
            self._composing.pop()

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        self._composing.append(anchor)
        try:
            return super().compose_mapping_node(anchor)  # type: ignore[misc,no-any-return]
        finally:
            self._composing.pop()

    # -- mappings: no key twice --------------------------------------------------------------------------------------

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # `<<: *base` merges on purpose; keys written here override it (YAML merge spec)
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            try:
                seen = first_line.get(key)
            except TypeError:
                continue  # unhashable key: SafeConstructor reports it below
            if seen is not None:
                raise ConstructorError(None, None, f"key {key!r} given a second time (first at line {seen}; "
                                       "YAML would silently keep only the last)", key_node.start_mark)
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc,no-any-return]

    # -- numbers: finite only ----------------------------------------------------------------------------------------

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value: float = super().construct_yaml_float(node)  # type: ignore[misc]
        if not math.isfinite(value):
            raise ConstructorError(None, None, f"{node.value!r} is not a finite number", node.start_mark)
        return value


class _Loader(_Strict, yaml.SafeLoader):
    """SafeLoader (pure Python) without implicit timestamps, with the _Strict checks: the loader whose errors
    (their words and places) users see."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self._strict_init()


class _CLoader(_Strict, Composer, CParser, SafeConstructor, Resolver):
    """The same loader over libyaml's scanner and parser (C, ~10x faster on a large hosts.yaml): the events feed
    the same Python composer and constructor, so the checks and the data are _Loader's. Used only for a text it
    reads without any error; whatever it refuses is read again by _Loader, which names the problem."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._strict_init()


_IMPLICIT = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)  # type: ignore[type-var]
_CLoader.add_constructor("tag:yaml.org,2002:float", _CLoader.construct_yaml_float)  # type: ignore[type-var]
_Loader.yaml_implicit_resolvers = _CLoader.yaml_implicit_resolvers = _IMPLICIT


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


def _pointer_at(node: yaml.Node | None, mark: yaml.Mark) -> str | None:
    """JSON pointer of the mapping entry (key or value) or sequence item that starts at `mark`."""
    def starts_here(candidate: yaml.Node) -> bool:
        return (candidate.start_mark.line, candidate.start_mark.column) == (mark.line, mark.column)

    def walk(current: yaml.Node, path: list[str], seen: frozenset[int]) -> list[str] | None:
        if id(current) in seen:  # an alias met again: its nodes were searched already
            return None
        seen = seen | {id(current)}
        children: list[tuple[str, tuple[yaml.Node, ...]]] = []
        if isinstance(current, yaml.MappingNode):
            children = [(str(k.value), (k, v)) for k, v in current.value]
        elif isinstance(current, yaml.SequenceNode):
            children = [(str(i), (item,)) for i, item in enumerate(current.value)]
        for name, nodes in children:
            if any(starts_here(n) for n in nodes):
                return [*path, name]
            found = walk(nodes[-1], [*path, name], seen)
            if found is not None:
                return found
        return None

    found = walk(node, [], frozenset()) if node is not None else None
    return "/" + "/".join(found) if found else None


def load_yaml(path: Path, error: type[InputError] = InputError) -> LoadedYaml:
    """Parse a YAML file; raise `error` naming the file and the place (JSON pointer and/or line) on
    absence, non-UTF-8 bytes, syntax errors, duplicate keys, non-finite numbers and alias bombs."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(str(path), "/", "file not found") from None
    except OSError as exc:
        raise error(str(path), "/", f"cannot read: {exc.strerror or type(exc).__name__}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(str(path), f"byte {exc.start}", f"not UTF-8 text ({exc.reason})") from None
    return parse_yaml(text, path, error)


def parse_yaml(text: str, path: Path, error: type[InputError] = InputError) -> LoadedYaml:
    """Parse YAML text that came from `path` (load_yaml, or a decrypted vault) with the same checks.

    The error's place (`where`) holds only keys and line numbers, never a value: callers holding secrets
    may show `where` and drop the message.
    """
    if not _NOT_PRINTABLE.search(text):   # PyYAML's reader refuses these characters; libyaml may not
        fast = _CLoader(text)
        try:
            found = fast.get_single_node()
            return LoadedYaml(path, fast.construct_document(found) if found is not None else None, found)
        except Exception:  # noqa: S110 - _Loader reads it again and names the problem
            pass
        finally:
            fast.dispose()
    loader = _Loader(text)
    node: yaml.Node | None = None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "/"
        pointer = _pointer_at(node, mark) if mark is not None and isinstance(exc, ConstructorError) else None
        if pointer and mark is not None:
            where = f"{pointer} (line {mark.line + 1})"
        kind = "YAML syntax error" if not isinstance(exc, ConstructorError | ComposerError) else "refused"
        raise error(str(path), where, f"{kind}: {problem}") from None
    except RecursionError:
        raise error(str(path), "/", "refused: nested too deeply") from None
    finally:
        loader.dispose()
    return LoadedYaml(path, data, node)
