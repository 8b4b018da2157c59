"""The YAML loader reads through libyaml (C) and falls back to the pure-Python loader for any text the C one
refuses: the data, the line numbers and every error are the Python loader's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hardening.core import yamlio
from hardening.core.errors import InputError
from hardening.core.yamlio import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for folder in ("inventory", "lab", "tests", "schemas") for p in (ROOT / folder).rglob("*.y*ml")
               if p.suffix in {".yaml", ".yml"})


def _slow(text: str, path: Path) -> Any:
    loader = yamlio._Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def _lines(node: Any) -> list[tuple[int, int]]:
    out = [(node.start_mark.line, node.start_mark.column)]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out += _lines(key) + _lines(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out += _lines(item)
    return out


def test_every_yaml_file_of_the_project_reads_the_same_through_libyaml() -> None:
    compared = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        try:
            data, node = _slow(text, path)
        except yaml.YAMLError:
            continue
        loaded = parse_yaml(text, path)
        assert loaded.data == data, path
        if node is not None:
            assert _lines(loaded._node) == _lines(node), path
        compared += 1
    assert compared > 50


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n",                       # a key twice
    "a: .nan\n",                          # not a finite number
    "a: [1, 2\n",                         # syntax
    "a: 1\n---\nb: 2\n",                  # two documents
    "a: &x [*x]\n",                       # recursive alias
    "a:\n\t- 1\n",                        # a tab where YAML wants spaces
])
def test_what_the_python_loader_refuses_is_refused_with_its_words(text: str, tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    with pytest.raises(yaml.YAMLError) as slow:
        _slow(text, path)
    with pytest.raises(InputError) as fast:
        parse_yaml(text, path)
    problem = getattr(slow.value, "problem", None) or str(slow.value)
    assert problem in str(fast.value)


def test_dates_stay_strings_and_merges_work(tmp_path: Path) -> None:
    loaded = parse_yaml("base: &b {x: 1}\nd: 2026-11-26\nm:\n  <<: *b\n  y: 2\n", tmp_path / "f.yaml")
    assert loaded.data == {"base": {"x": 1}, "d": "2026-11-26", "m": {"x": 1, "y": 2}}
    assert loaded.where(["m", "y"]) == "/m/y (line 5)"


def test_a_character_the_python_reader_refuses_is_not_read_by_libyaml(tmp_path: Path) -> None:
    with pytest.raises((InputError, yaml.YAMLError), match="special characters are not allowed"):
        parse_yaml("a: \x07\n", tmp_path / "hosts.yaml")
