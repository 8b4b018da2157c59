"""playbooks/windows.yml: the same settings from the same data as `hardening plan` (its filters are
hardening.platforms.windows.playbook), every setting kind has a task, and the BIOS password never reaches a task's
arguments in the clear."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from tests.unit.test_winchange import ORDINARY, PARAMS, StubWindows, target
from tests.winfake import WindowsHost

from hardening.core.yamlio import load_yaml
from hardening.platforms.windows import playbook
from hardening.platforms.windows.settings import KINDS, load_remediation

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "windows.yml"


def _outputs(host: WindowsHost, fix: list[str]) -> dict[str, Any]:
    """What the playbook's read task returns: {id: {text, rc}} (an error block is its HARDENING-ERROR text)."""
    out = {}
    for item in playbook.reads(fix, PARAMS):
        output = host.read(item["id"], item["command"])
        out[item["id"]] = {"text": output.error or output.text, "rc": output.rc}
    return out


def test_the_playbook_changes_what_the_plan_changes(tmp_path: Path) -> None:
    host = WindowsHost()
    fix = [*ORDINARY, "DISK-ENC", "BOOT-PW"]
    planned = StubWindows(host).plan(target(tmp_path), fix, PARAMS)
    items = playbook.changes(fix, PARAMS, _outputs(host, fix))
    from_plan = {line.replace("vault entry win-admin", "hardening_bios_password")
                 for c in planned for line in c.diff.splitlines()}
    from_playbook = {f"{i['label']}: {i['from']} → {i['to']}" for i in items}
    assert from_playbook == from_plan
    smb = next(i for i in items if i["kind"] == "smb1")
    assert smb["requirements"] == ["MGMT-SECURE-PROTOCOLS", "SVC-MINIMAL"]
    usb = next(i for i in items if i["kind"] == "registry" and i["name"] == "Start")
    assert usb["path"] == r"HKLM:\SYSTEM\CurrentControlSet\Services\USBSTOR"
    assert (usb["type"], usb["data"]) == ("dword", 4)
    bios = next(i for i in items if i["kind"] == "bios_password")
    assert "NewPassword = $new" in bios["script"]
    assert "Bios-Pass" not in str(items)


def test_every_kind_has_a_task_and_the_bios_task_logs_nothing() -> None:
    plays = load_yaml(PLAYBOOK).data
    tasks = plays[0]["tasks"]
    text = PLAYBOOK.read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"'{kind}'" in text, kind
    bios = next(t for t in tasks if "bios_password" in t["loop"])
    assert bios["no_log"] is True
    assert [p["name"] for p in bios["ansible.windows.win_powershell"]["sensitive_parameters"]] == ["new"]
    used = {kind for entries in load_remediation().requirements.values() for kind in (e["kind"] for e in entries)}
    assert used <= set(KINDS)


def test_the_filter_plugin_serves_the_package_functions() -> None:
    spec = importlib.util.spec_from_file_location("hardening_windows",
                                                  ROOT / "playbooks" / "filter_plugins" / "hardening_windows.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    filters = module.FilterModule().filters()
    assert filters == {"hardening_windows_reads": playbook.reads, "hardening_windows_changes": playbook.changes}


def test_the_windows_playbook_passes_the_syntax_check_with_its_collection() -> None:
    """playbooks/windows.yml against the ansible.windows collection `make collections` installs (collections/,
    which ansible.cfg puts first): the modules resolve and the playbook parses. It cannot run here (no Windows)."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    assert exe is not None, "ansible-playbook is not in the virtualenv (make venv)"
    assert (ROOT / "collections" / "ansible_collections" / "ansible" / "windows").is_dir(), \
        "the ansible.windows collection is not installed: make collections"
    proc = subprocess.run([exe, "--syntax-check", "-i", "localhost,", str(PLAYBOOK)], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
