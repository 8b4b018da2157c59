"""The probe package and the one script assembled from it for the host.

On the host every module of the package shares ONE namespace, so the script must compile, import only the
standard library, never define a name in two modules (the later one would silently replace the earlier and
change verdicts), and give the same facts as the package imported on the auditor's side.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hardening.platforms.linux import probe

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "src" / "hardening" / "platforms" / "linux" / "probe"
CASES = sorted((REPO / "tests" / "platforms" / "linux" / "cases").glob("*/raw/root"))
NOW = 1_718_000_000.0


def module_tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))


def defined_names(tree: ast.Module) -> set[str]:
    """Top-level names a module defines itself (imports bind names too, but the same stdlib import twice is
    the same object)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_every_module_of_the_package_is_assembled_in_dependency_order():
    on_disk = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert set(probe.MODULES) == on_disk
    assert len(probe.MODULES) == len(set(probe.MODULES))
    for position, name in enumerate(probe.MODULES):
        for node in module_tree(name).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, f"{name}: imports from outside the package"
                assert node.module in probe.MODULES[:position], f"{name} imports {node.module}, pasted later"


def test_no_name_is_defined_in_two_modules():
    owner: dict[str, str] = {}
    clashes = []
    for name in probe.MODULES:
        for defined in defined_names(module_tree(name)):
            if defined in owner:
                clashes.append(f"{defined}: {owner[defined]} and {name}")
            owner.setdefault(defined, name)
    assert clashes == []
    # nor does a module name hide a probe name on the package (probe.<name> must be the probe's name)
    assert not set(probe.MODULES) & (set(owner) - {"main"})
    assert probe.main is vars(sys.modules["hardening.platforms.linux.probe.main"])["main"]


def test_the_script_compiles_and_imports_only_the_standard_library():
    source = probe.assemble()
    compile(source, "<hardening-linux-probe>", "exec")
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"line {node.lineno}: a package-internal import is left in the script"
            imported.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
    assert imported
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported - set(sys.stdlib_module_names)
    # one namespace: every top-level name of every module is defined exactly once in the script too
    counts: dict[str, int] = {}
    for node in tree.body:
        for defined in defined_names(ast.Module(body=[node], type_ignores=[])):
            counts[defined] = counts.get(defined, 0) + 1
    package_names = set().union(*(defined_names(module_tree(m)) for m in probe.MODULES))
    assert set(counts) == package_names
    assert sum(counts.values()) == sum(len(defined_names(module_tree(m))) for m in probe.MODULES)


def test_the_script_is_built_once_and_starts_with_the_future_import():
    assert probe.assemble() is probe.assemble()
    tree = ast.parse(probe.assemble())
    assert isinstance(tree.body[0], ast.Expr)  # the docstring
    future = tree.body[1]
    assert isinstance(future, ast.ImportFrom)
    assert future.module == "__future__"
    assert sum(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in tree.body) == 1


def comparable(document: dict) -> dict:
    document = dict(document)
    document.pop("probe")  # duration_ms differs from run to run
    return document


@pytest.mark.parametrize("root", CASES, ids=[p.parents[1].name for p in CASES])
def test_script_and_package_give_the_same_document(root):
    cp = subprocess.run([sys.executable, "-", "--root", str(root), "--offline", "--now", str(NOW)],
                        input=probe.assemble(), capture_output=True, timeout=60, check=False)
    assert cp.returncode == 0, cp.stderr.decode()
    assert cp.stderr == b""
    script = json.loads(cp.stdout)
    package = json.loads(json.dumps(probe.collect(str(root), now=NOW, offline=True)))
    assert script["probe"]["name"] == package["probe"]["name"]
    assert comparable(script) == comparable(package)


def test_the_cases_are_there():
    assert len(CASES) >= 10
