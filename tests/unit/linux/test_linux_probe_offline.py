"""The probe over a SAVED file tree (offline=True, used by `audit --from`): no commands, no /proc, /sys,
/run or /dev, and the tree's symlinks resolved inside it (never onto the auditor's own files)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest


@pytest.mark.parametrize(("path", "live"), [
    ("/proc/net/tcp", True), ("/proc", True), ("/sys/module/usb_storage", True), ("/run/systemd/x", True),
    ("/dev/sda", True), ("//proc/./modules", True), ("/etc/proc", False), ("/procfs", False),
    ("/var/run-x", False), ("/etc/ssh/sshd_config", False),
])
def test_live_only_trees(probe: ModuleType, path: str, live: bool) -> None:
    assert probe.is_live_only_path(path) is live


def test_offline_hides_a_saved_proc_and_runs_no_command(probe: ModuleType, fixtures: Path) -> None:
    root = str(fixtures / "rootfs-debian12")
    ctx = probe.Ctx(root, commands=True, offline=True)
    assert ctx.commands is False
    assert ctx.read("/proc/net/tcp") is None
    assert ctx.processes() is None
    assert ctx.running("sshd") is None
    assert ctx.glob("/proc/*") == []
    assert ctx.read("/etc/os-release") is not None
    live = probe.Ctx(root, commands=False)
    assert live.read("/proc/net/tcp") is not None  # the fixture does carry one: offline mode hides it


def test_absolute_symlinks_stay_inside_the_saved_tree(probe: ModuleType, fixtures: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(fixtures / "rootfs-minimal", root, symlinks=True)
    (root / "etc" / "saved-os-release").write_text('NAME="Saved Linux"\nID=debian\nVERSION_ID="12"\n')
    (root / "etc" / "os-release").unlink(missing_ok=True)
    (root / "etc" / "os-release").symlink_to("/etc/saved-os-release")  # absolute: means root/etc/…
    (root / "etc" / "issue.net").unlink(missing_ok=True)
    (root / "etc" / "issue.net").symlink_to("/etc/passwd-of-the-auditor")  # dangling inside the tree
    (root / "usr" / "lib").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "confdir").symlink_to("/usr/lib/confdir")
    (root / "usr" / "lib" / "confdir").mkdir()
    (root / "usr" / "lib" / "confdir" / "a.conf").write_text("x\n")
    (root / "etc" / "escape").symlink_to("../../../../../../etc")
    ctx = probe.Ctx(str(root), offline=True)
    assert ctx.read("/etc/os-release") == 'NAME="Saved Linux"\nID=debian\nVERSION_ID="12"\n'
    assert ctx.read("/etc/issue.net") is None
    assert ctx.glob("/etc/confdir/*.conf") == ["/etc/confdir/a.conf"]
    assert ctx.read("/etc/confdir/a.conf") == "x\n"
    # ".." never climbs above the tree's root: /etc/escape is the tree's own /etc
    assert ctx.read("/etc/escape/saved-os-release") is not None
    assert ctx.read("/etc/escape/hostname") == ctx.read("/etc/hostname")
    document = probe.collect(str(root), offline=True)
    assert document["facts"]["os"]["name"] == "Saved Linux"


def test_offline_glob_matches_like_glob(probe: ModuleType, fixtures: Path) -> None:
    for fixture in ("sshd-include-after", "pam-dropin-credits", "logrotate", "modprobe-blacklist"):
        root = str(fixtures / fixture)
        online, offline = probe.Ctx(root, commands=False), probe.Ctx(root, offline=True)
        for pattern in ("/etc/*", "/etc/*/*", "/etc/*/*.conf", "/etc/ssh/sshd_config.d/*.conf", "/etc/.*"):
            assert offline.glob(pattern) == online.glob(pattern), (fixture, pattern)
