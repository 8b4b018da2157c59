"""The Ansible content (playbooks/, tasks/, meta/argument_specs.yml) checked as data against the catalog.

What is checked here, without any host:
- every task is named, calls exactly one ansible-core module by its full name, carries exactly one
  requirement-id tag of the catalog, and runs only when that id is in ``hardening_fix``;
- every Linux requirement whose catalog fix is ``automated`` has tasks, and no other requirement has any;
- commands always say when they change something; file writes keep a backup when hardening_backup is on;
- every ``hardening_params.X`` is a catalog parameter, its ``| default(...)`` is the catalog default, and
  meta/argument_specs.yml describes exactly the catalog parameters with the catalog defaults;
- notified handlers exist; the playbook imports every task file;
- the prohibited package and process lists of tasks/services.yml are the Linux probe's.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = ROOT / "schemas" / "requirements"
TASKS_DIR = ROOT / "tasks"
PLAYBOOK = ROOT / "playbooks" / "linux.yml"
ARG_SPECS = ROOT / "meta" / "argument_specs.yml"

LINUX_CLASSES = {"linux_server", "linux_pc"}
# Task keywords (not modules). A task has exactly one key outside this set: its module.
TASK_KEYWORDS = {
    "name",
    "tags",
    "when",
    "vars",
    "loop",
    "loop_control",
    "register",
    "notify",
    "changed_when",
    "failed_when",
    "check_mode",
    "diff",
    "become",
    "become_user",
    "ignore_errors",
    "no_log",
    "delegate_to",
    "environment",
    "until",
    "retries",
    "delay",
    "args",
    "listen",
    "run_once",
    "throttle",
    "timeout",
    "any_errors_fatal",
}
# Modules that write files and can keep a backup of what they replace.
BACKUP_MODULES = {
    "ansible.builtin.copy",
    "ansible.builtin.template",
    "ansible.builtin.lineinfile",
    "ansible.builtin.replace",
    "ansible.builtin.blockinfile",
}
COMMAND_MODULES = {"ansible.builtin.command", "ansible.builtin.shell", "ansible.builtin.raw", "ansible.builtin.script"}


@cache
def catalog() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(CATALOG_DIR.glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))["x-hardening"]
        out[meta["id"]] = meta
    return out


@cache
def catalog_parameters() -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for meta in catalog().values():
        params.update(meta["parameters"])
    return params


def resolved_default(spec: dict[str, Any]) -> Any:
    """The value a host gets when nobody sets the parameter (per-role: the `base` list)."""
    if spec.get("per_role"):
        return list(spec["default"].get("base", []))
    return spec["default"]


@cache
def task_files() -> dict[str, list[dict[str, Any]]]:
    out = {}
    for path in sorted(TASKS_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, list), f"{path}: a task file is a list of tasks"
        out[path.name] = data
    return out


def all_tasks() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{name}[{i}] {t.get('name', '?')}", t) for name, tasks in task_files().items() for i, t in enumerate(tasks)
    ]


TASK_IDS = [label for label, _ in all_tasks()]


def module_of(task: dict[str, Any]) -> str:
    modules = [k for k in task if k not in TASK_KEYWORDS]
    assert len(modules) == 1, f"expected exactly one module, found {modules}"
    return modules[0]


def whens(task: dict[str, Any]) -> list[str]:
    when = task.get("when", [])
    return [when] if isinstance(when, str) else list(when)


@cache
def playbook() -> list[dict[str, Any]]:
    data = yaml.safe_load(PLAYBOOK.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_there_is_content() -> None:
    assert PLAYBOOK.exists()
    assert len(task_files()) >= 10


@pytest.mark.parametrize(("label", "task"), all_tasks(), ids=TASK_IDS)
def test_task_is_named_tagged_gated_and_fqcn(label: str, task: dict[str, Any]) -> None:
    assert isinstance(task.get("name"), str), f"{label}: no name"
    assert task["name"].strip(), f"{label}: empty name"
    module = module_of(task)
    assert module.startswith("ansible.builtin."), f"{label}: {module} is not an ansible-core module by FQCN"
    tags = task.get("tags")
    assert isinstance(tags, list), f"{label}: tags must be a list of one requirement id, is {tags!r}"
    assert len(tags) == 1, f"{label}: needs exactly one requirement-id tag, has {tags}"
    rid = tags[0]
    assert rid in catalog(), f"{label}: tag {rid!r} is not a catalog requirement id"
    assert task["name"].startswith(f"{rid}: "), f"{label}: the name should start with '{rid}: '"
    gate = f"'{rid}' in hardening_fix"
    assert any(w.strip().strip('"') == gate for w in whens(task)), f'{label}: no `when: "{gate}"`'


def test_every_automated_linux_requirement_has_tasks_and_no_other_has_any() -> None:
    tagged = {t["tags"][0] for _, t in all_tasks()}
    automated = {
        rid
        for rid, meta in catalog().items()
        if meta["platforms"].get("linux", {}).get("automation", {}).get("fix") == "automated"
        and LINUX_CLASSES & set(meta["device_classes"])
    }
    assert automated - tagged == set(), f"automated requirements without tasks: {sorted(automated - tagged)}"
    assert tagged - automated == set(), f"tasks for requirements whose fix is not automated: {tagged - automated}"


@pytest.mark.parametrize(("label", "task"), all_tasks(), ids=TASK_IDS)
def test_commands_say_when_they_change(label: str, task: dict[str, Any]) -> None:
    module = module_of(task)
    if module in COMMAND_MODULES:
        assert module == "ansible.builtin.command", f"{label}: use ansible.builtin.command (argv), not {module}"
        assert "changed_when" in task, f"{label}: a command needs changed_when"


@pytest.mark.parametrize(("label", "task"), all_tasks(), ids=TASK_IDS)
def test_file_writes_can_keep_a_backup(label: str, task: dict[str, Any]) -> None:
    """Host-side copies are switchable in one place (hardening_backup, off: the orchestrator keeps its own)."""
    module = module_of(task)
    if module in BACKUP_MODULES:
        assert task[module].get("backup") == "{{ hardening_backup }}", f"{label}: backup is not hardening_backup"


def _content_files() -> list[Path]:
    return [PLAYBOOK, *sorted(TASKS_DIR.glob("*.yml"))]


def test_hardening_params_are_catalog_parameters_with_catalog_defaults() -> None:
    params = catalog_parameters()
    seen = set()
    for path in _content_files():
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"(?<![\w.])hardening_params\.(\w+)", text):
            assert name in params, f"{path.name}: hardening_params.{name} is not a catalog parameter"
            seen.add(name)
        for name, literal in re.findall(r"(?<![\w.])hardening_params\.(\w+)\s*\|\s*default\(([^()]*)\)", text):
            assert yaml.safe_load(literal) == resolved_default(params[name]), (
                f"{path.name}: hardening_params.{name} | default({literal}) differs from the catalog default "
                f"{resolved_default(params[name])!r}"
            )
    assert seen, "no hardening_params used at all?"


def test_argument_specs_describe_exactly_the_catalog() -> None:
    spec = yaml.safe_load(ARG_SPECS.read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    assert set(spec["hardening_fix"]["choices"]) == set(catalog())
    options = spec["hardening_params"]["options"]
    params = catalog_parameters()
    assert set(options) == set(params)
    for name, opt in options.items():
        assert opt["default"] == resolved_default(params[name]), f"{name}: default differs from the catalog"
        assert opt.get("description"), f"{name}: no description"
    for name, opt in spec.items():
        assert "default" in opt, f"{name}: needs a default"
        assert opt.get("description"), f"{name}: needs a description"


def test_argument_specs_cover_every_variable_the_content_reads() -> None:
    spec = yaml.safe_load(ARG_SPECS.read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    for path in _content_files():
        for var in set(re.findall(r"\b(hardening_[a-z_]+)\b", path.read_text(encoding="utf-8"))):
            assert var in spec, f"{path.name}: {var} is read but not described in meta/argument_specs.yml"


def test_banner_default_is_a_warning() -> None:
    spec = yaml.safe_load(ARG_SPECS.read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    banner = spec["hardening_login_banner"]["default"].strip()
    pattern = catalog_parameters()["banner_warning_pattern"]["default"]
    assert re.search(pattern, banner)
    assert not re.search(pattern, "Debian GNU/Linux 12")


def test_playbook_imports_every_task_file_once() -> None:
    (play,) = playbook()
    assert play["hosts"] == "all"
    assert play["become"] is True
    assert play["gather_facts"] is False
    imported = [Path(t["ansible.builtin.import_tasks"]).name for t in play["tasks"]]
    assert sorted(imported) == sorted(task_files()), "every tasks/*.yml is imported exactly once"


def test_notified_handlers_exist() -> None:
    (play,) = playbook()
    handlers = set()
    for h in play["handlers"]:
        handlers.add(h["name"])
        if "listen" in h:
            handlers.add(h["listen"])
    for label, task in all_tasks():
        notify = task.get("notify", [])
        for n in [notify] if isinstance(notify, str) else notify:
            assert n in handlers, f"{label}: notifies {n!r}, which no handler listens to"


def test_handlers_use_only_ansible_core_and_commands_say_when_they_change() -> None:
    (play,) = playbook()
    for h in play["handlers"] + play["pre_tasks"]:
        module = module_of(h)
        assert module.startswith("ansible.builtin."), f"{h['name']}: {module}"
        if module in COMMAND_MODULES:
            assert module == "ansible.builtin.command"
            assert "changed_when" in h, f"{h['name']}: a command needs changed_when"


@pytest.fixture(scope="module")
def probe() -> Any:
    from hardening.platforms.linux import probe as module

    return module


def _task(file: str, name_start: str) -> dict[str, Any]:
    found = [t for t in task_files()[file] if t["name"].startswith(name_start)]
    assert len(found) == 1, f"{file}: no single task named {name_start!r}..."
    return found[0]


def test_prohibited_packages_are_the_probes(probe: Any) -> None:
    task = _task("services.yml", "SVC-MINIMAL: pick the prohibited server packages")
    probe_patterns = [p for _, pats in probe.PROHIBITED_PACKAGES for p in pats]
    assert sorted(task["vars"]["_packages"]) == sorted(probe_patterns)


def test_prohibited_processes_are_the_probes(probe: Any) -> None:
    task = _task("services.yml", "SVC-MINIMAL: stop prohibited server processes")
    assert sorted(task["vars"]["_comms"]) == sorted(probe.PROHIBITED_PROCESSES)


def test_managed_file_names_are_what_the_lab_baseline_uses() -> None:
    """The fix rewrites the baseline's own files instead of adding rivals beside them."""
    baseline = ROOT / "lab" / "baseline"
    if not baseline.exists():
        pytest.skip("no lab baseline")
    text = "\n".join(p.read_text(encoding="utf-8") for p in TASKS_DIR.glob("*.yml"))
    for path in [
        "/etc/security/pwquality.conf.d/50-sakado.conf",
        "/etc/ssh/sshd_config.d/50-sakado.conf",
        "/etc/profile.d/99-sakado-tmout.sh",
        "/etc/rsyslog.d/50-forward.conf",
        "/etc/modprobe.d/sakado-usb.conf",
        "/etc/dconf/db/local.d/00-sakado-screensaver",
        "/etc/dconf/db/local.d/locks/00-sakado-screensaver",
    ]:
        assert path in text, f"{path} is not managed by tasks/"
        assert any((d / path.lstrip("/")).exists() for d in baseline.iterdir()), f"{path} not in lab/baseline"


def test_syntax_check() -> None:
    exe = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or shutil.which("ansible-playbook")
    if exe is None:
        pytest.skip("ansible-playbook is not installed")
    proc = subprocess.run(
        [exe, "--syntax-check", "-i", "localhost,", str(PLAYBOOK)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_management_lists_are_the_probes(probe: Any) -> None:
    """MGMT-SECURE-PROTOCOLS stops exactly the servers and deletes exactly the SNMP lines the probe reports,
    and SVC-MINIMAL leaves exactly those servers to it when both run."""
    cleartext = sorted(c for c, name in probe.PROHIBITED_PROCESSES.items() if name in probe.CLEARTEXT_LOGIN_SERVICES)
    stop = _task("management.yml", "MGMT-SECURE-PROTOCOLS: stop telnet and r-service servers")
    assert sorted(stop["vars"]["_comms"]) == cleartext
    svc_stop = _task("services.yml", "SVC-MINIMAL: stop prohibited server processes")
    assert sorted(svc_stop["vars"]["_cleartext"]) == cleartext
    delete = _task("management.yml", "MGMT-SECURE-PROTOCOLS: delete the SNMP v1/v2c community")
    assert "diff" not in delete  # the diff is shown (communities masked) so the file is backed up by path
    words = re.search(r"\(\?i:([^)]*)\)", delete["ansible.builtin.replace"]["regexp"])
    assert words is not None
    directives = set(probe.SNMP_COMMUNITY_DIRECTIVES) | set(probe.SNMP_TRAP_DIRECTIVES)
    expanded = set()
    for alt in words.group(1).split("|"):
        expanded |= {alt.replace("6?", ""), alt.replace("6?", "6")} if "6?" in alt else {alt}
    assert expanded == directives


def test_linux_platform_declares_exactly_what_its_playbook_fixes() -> None:
    """The Remediator's `fixes` (what plan may hand to the platform) is the set of requirements with tasks."""
    from hardening.platforms.linux.driver import LinuxPlatform

    assert {t["tags"][0] for _, t in all_tasks()} == set(LinuxPlatform.fixes)
