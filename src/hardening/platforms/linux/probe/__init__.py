"""Linux fact probe of `hardening`: collects the normalized facts of ONE host.

Why this package exists
-----------------------
The auditor must learn the *effective* security settings of a Linux host
(what the daemons and PAM modules actually apply, not what a naive grep of one
file suggests) without installing anything there.  It sends ONE self-contained
script over ONE SSH exec as ``sudo -n python3 -`` (script on stdin); the probe
prints ONE JSON document on stdout: the facts document of
``schemas/facts.schema.json`` (format_version "1").  The auditor then
overwrites ``host`` with the inventory name and ``device_class`` with the
inventory's class.

One script, many modules
------------------------
The probe is written as this package, one module a section (``MODULES`` is
their fixed dependency order), and shipped as the single script ``assemble()``
returns: the modules one after the other with their package-internal imports
removed, so on the host every module shares one namespace, as if they were one
file.  Hence: a top-level name is defined in ONE module only (a second
definition would silently replace the first on the host), and a module only
imports from the modules before it.  On the auditor's side the package is
imported as usual (``probe.collect(root, offline=True)`` for a saved file
tree); every name of every module is reachable as ``probe.<name>``.

Rules the modules keep (do not break them when editing)
-------------------------------------------------------
* Standard library only; runs on the target's python3, 3.7 or newer (no walrus,
  no ``match``, no ``f"{x=}"``, no ``list[str]`` evaluated at run time, no
  ``str.removeprefix``).
* Read-only: never writes anything on the host (no files, no bytecode caches),
  never prompts (every command gets stdin=/dev/null), every command has a
  timeout.  Meant to finish well under 0.5 s on a small host.
* "Cannot know" is not "known to be off": a fact that cannot be determined is
  LEFT OUT of ``facts`` and its JSON pointer (relative to facts, e.g.
  ``/time/offset_ms_abs``) goes into ``errors`` with a short reason.  A fact
  determined to be absent/disabled is a real value (false / null / []).
* An unexpected exception in one section becomes errors for that section's
  facts; it never crashes the whole probe.
* No secrets in evidence: /etc/shadow, private keys, vault and password files
  are never excerpted, inline secret values (``pwd="…"``, ``password: …``) are
  masked.  Config excerpts drop comment/blank lines and are capped (~1500
  characters).
* Typed for ``mypy --strict`` with string annotations (``from __future__ import
  annotations``) and ``# type:`` comments only, so nothing typed runs on 3.7.
* Effective values: each parser follows the consuming program's real rules
  (sshd first-value-wins across Include, libpwquality's read order, logrotate's
  first-rule-wins, kmod's directory precedence, dconf profiles and locks …);
  the docstrings say which rule and where a choice had to be made.  Every
  include directive goes through the one follower in ``includes``.
* Importable on the auditor: parsers are pure functions (text in, values out);
  I/O lives in thin collector functions that take a ``Ctx`` whose ``root``
  prefix (default "/") lets unit tests point them at a fake filesystem (where
  commands are simply unavailable).  ``main()`` only runs under
  ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import threading
from pathlib import Path
from typing import Any

from .main import collect, main

__all__ = ["MODULES", "assemble", "collect", "main"]

# The modules of the script, in the order they are pasted: each imports only from those before it.
MODULES = (
    "base", "includes", "os_info", "pam", "sockets", "services", "sshd", "shell_profile", "screen_lock",
    "banners", "systemd_conf", "timesync", "log_forwarding", "log_retention", "removable_media", "firmware",
    "disk_encryption", "antimalware", "snmpd", "management", "password_storage", "log_timestamps", "main",
)
HERE = Path(__file__).resolve().parent


def _bound_names(node: ast.Import | ast.ImportFrom) -> set[tuple[str, str, str]]:
    """(module, name, bound as) of each name a top-level stdlib import binds."""
    if isinstance(node, ast.Import):
        return {(a.name, "", a.asname or a.name) for a in node.names}
    return {(node.module or "", a.name, a.asname or a.name) for a in node.names}


def _script_part(name: str, text: str, bound: set[tuple[str, str, str]]) -> str:
    """The text of module `name` as a part of the script: its docstring becomes a banner comment, and its
    package-internal imports, its ``from __future__`` line (but the first module's) and stdlib imports an
    earlier module already made are left out.  `bound` gathers the stdlib names imported so far."""
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()  # 0-based line numbers
    body = ast.parse(text).body
    banner = "# " + "-" * 75 + "\n# probe/%s.py\n# " % name + "-" * 75 + "\n"
    for i, node in enumerate(body):
        span = set(range(node.lineno - 1, (node.end_lineno or node.lineno)))
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            drop |= span  # the docstring: the banner names the module instead
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            drop |= span
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            if bound:
                drop |= span
            bound.add(("__future__", "annotations", "annotations"))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = _bound_names(node)
            if names <= bound:
                drop |= span
            bound |= names
    return banner + "".join(line for n, line in enumerate(lines) if n not in drop).strip("\n") + "\n\n\n"


_ASSEMBLING = threading.Lock()


def assemble() -> bytes:
    """The probe as the one stdlib-only script the host runs (``python3 - [--root DIR [--offline]]``): the
    package docstring, then every module of MODULES in order (see ``_script_part``).  Built once per process,
    by one thread: the collection threads of a run all ask for it at once, and building it in each of them (it
    parses every module) would spend the first hosts' time budgets before their sessions even start."""
    with _ASSEMBLING:
        return _assemble()


@functools.cache
def _assemble() -> bytes:
    bound: set[tuple[str, str, str]] = set()
    parts = ['"""%s"""\n' % (__doc__ or "").replace('"""', "'''")]
    for name in MODULES:
        parts.append(_script_part(name, (HERE / (name + ".py")).read_text(encoding="utf-8"), bound))
    return "".join(parts).rstrip("\n").encode("utf-8") + b"\n"


def __getattr__(name: str) -> Any:
    """``probe.<name>``: any top-level name of the probe's modules, as the script's one namespace has it."""
    for module in MODULES:
        loaded = importlib.import_module("%s.%s" % (__name__, module))
        if name in vars(loaded):
            return vars(loaded)[name]
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
