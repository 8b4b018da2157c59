"""Install the Ansible collections playbooks/windows.yml needs into the project's collections/ folder.

The collections come from the `ansible` package on PyPI, which ships every community collection: the wheel named in
requirements-ansible.txt is downloaded once (pip's cache keeps it) and only the collections listed there are
extracted (ansible.windows is 1.7 MB of the wheel's 54 MB). No other source is needed, so it works on any machine
that reaches PyPI. Run by `make collections`; idempotent (a collection whose MANIFEST.json is already there with
the same version is left alone).

Usage: python tools/install_collections.py [--requirements requirements-ansible.txt] [--into collections]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def read_requirements(path: Path) -> tuple[str, list[str]]:
    """(the pip requirement of the package that ships the collections, [namespace.name, …])."""
    package, collections = "", []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("collection:"):
            collections.append(line.removeprefix("collection:").strip())
        elif not package:
            package = line
        else:
            raise SystemExit(f"{path}: one package line only (found {line!r})")
    if not package or not collections:
        raise SystemExit(f"{path}: needs a package line and at least one `collection: namespace.name` line")
    return package, collections


def installed(into: Path, collection: str) -> str | None:
    manifest = into / "ansible_collections" / Path(*collection.split(".")) / "MANIFEST.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requirements", type=Path, default=Path("requirements-ansible.txt"))
    parser.add_argument("--into", type=Path, default=Path("collections"))
    args = parser.parse_args()
    package, collections = read_requirements(args.requirements)
    with tempfile.TemporaryDirectory(prefix="hardening-collections-") as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                        "-d", folder, package], check=True)
        wheels = sorted(Path(folder).glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"pip download {package} gave {len(wheels)} wheels, expected 1")
        with zipfile.ZipFile(wheels[0]) as wheel:
            names = wheel.namelist()
            for collection in collections:
                prefix = "ansible_collections/" + collection.replace(".", "/") + "/"
                members = [n for n in names if n.startswith(prefix)]
                if not members:
                    raise SystemExit(f"{wheels[0].name} has no collection {collection}")
                version = json.loads(wheel.read(prefix + "MANIFEST.json"))["collection_info"]["version"]
                if installed(args.into, collection) == version:
                    print(f"{collection} {version}: already installed in {args.into}")
                    continue
                for member in members:
                    wheel.extract(member, args.into)
                print(f"{collection} {version}: {len(members)} files into {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
