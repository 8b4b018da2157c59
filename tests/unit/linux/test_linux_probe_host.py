"""OS, idle timeout, removable media, screen lock, firmware, disk encryption, anti-malware."""

from __future__ import annotations

import os
import time

import pytest


def test_os_release_and_family(probe, ctx_for):
    osr = probe.parse_os_release('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n')
    assert probe.os_family(osr) == "rhel"
    assert probe.os_family(probe.parse_os_release("ID=ubuntu\nID_LIKE=debian\n")) == "debian"
    ctx = ctx_for("rootfs-debian12")
    probe.collect_os(ctx)
    assert ctx.facts["os"] == {"family": "debian", "name": "Debian GNU/Linux", "version": "12",
                               "kernel": "6.1.0-18-amd64", "hostname": "web01"}


def test_idle_timeout_collect(probe, ctx_for):
    ctx = ctx_for("rootfs-debian12")
    probe.collect_idle_timeout(ctx)
    # /etc/profile's loop reads profile.d/tmout.sh; the bash.bashrc line is a comment
    assert ctx.facts["login"]["idle_timeout"] == {"seconds": 900, "readonly": True, "exported": True,
                                                  "source": "/etc/profile.d/tmout.sh:1"}
    assert ctx.facts["login"]["idle_timeout_seconds"] == 900
    ctx = ctx_for("rootfs-minimal")
    probe.collect_idle_timeout(ctx)
    assert ctx.facts["login"]["idle_timeout"]["seconds"] is None
    assert ctx.facts["login"]["idle_timeout_seconds"] is None


def test_modprobe_parse(probe):
    parsed = probe.parse_modprobe("install usb-storage /bin/false\nblacklist uas\n# install uas /bin/true\n")
    assert parsed["install"] == {"usb_storage": "/bin/false"}
    assert parsed["blacklist"] == {"uas"}
    assert probe.install_blocks("/bin/true")
    assert probe.install_blocks("/usr/bin/false ; echo blocked")
    assert not probe.install_blocks("/sbin/modprobe --ignore-install usb-storage")


@pytest.mark.parametrize(
    ("case", "blocked", "loaded"),
    [
        ("modprobe-install", True, False),
        ("modprobe-blacklist", False, False),  # blacklist alone does not stop `modprobe usb-storage`
        ("modprobe-loaded", False, True),  # /lib/modprobe.d directive, but the module is already in
        ("modprobe-shadowed", False, False),  # /etc/modprobe.d/usb.conf hides /lib/modprobe.d/usb.conf
        ("modprobe-builtin", False, True),  # in /sys/module, not /proc/modules: built in, cannot be blocked
        ("modprobe-nomodules", False, False),  # module-less kernel: still needs the directive
        ("modprobe-nomodules-install", True, False),
    ],
)
def test_removable_media(probe, ctx_for, case, blocked, loaded):
    ctx = ctx_for(case)
    probe.collect_removable_media(ctx)
    assert ctx.facts["removable_media"] == {"usb_storage_blocked": blocked, "usb_storage_loaded": loaded}


def test_removable_media_without_proc_modules_is_error(probe, ctx_for):
    ctx = ctx_for("rootfs-minimal")
    probe.collect_removable_media(ctx)
    assert "removable_media" not in ctx.facts
    assert set(ctx.errors) == {"/removable_media/usb_storage_blocked", "/removable_media/usb_storage_loaded"}


def test_dconf_keyfile_and_gvariant(probe):
    kf = probe.parse_dconf_keyfile("[org/gnome/desktop/session]\nidle-delay=uint32 600\n# x=1\n"
                                   "[org/gnome/desktop/screensaver/]\nlock-enabled=false\n")
    assert kf == {("org/gnome/desktop/session", "idle-delay"): "uint32 600",
                  ("org/gnome/desktop/screensaver", "lock-enabled"): "false"}
    assert probe.gvariant_value("uint32 600") == 600
    assert probe.gvariant_value("false") is False
    assert probe.gvariant_value("'hello'") == "hello"


def test_screen_lock_locked(probe, ctx_for):
    ctx = ctx_for("dconf-locked")
    probe.collect_screen_lock(ctx)
    # local.d: 10-override (later file) sets idle 300 over 00-screensaver's 600; local comes
    # before site in the profile so site's 60 does not apply; lock-delay 30 adds up.
    assert ctx.facts["screen_lock"] == {"enabled": True, "idle_seconds": 330, "enforced": True}


def test_screen_lock_idle_zero_and_partial_lock(probe, ctx_for):
    ctx = ctx_for("dconf-unlocked")
    probe.collect_screen_lock(ctx)
    assert ctx.facts["screen_lock"] == {"enabled": False, "idle_seconds": None, "enforced": False}


def test_screen_lock_without_profile_system_db_does_not_apply(probe, ctx_for):
    ctx = ctx_for("dconf-noprofile")
    probe.collect_screen_lock(ctx)
    # without /etc/dconf/profile/user the local db is not consulted: GNOME defaults, unlocked
    assert ctx.facts["screen_lock"] == {"enabled": True, "idle_seconds": 300, "enforced": False}


def test_screen_lock_directory_lock(probe):
    res, _, locked = probe.screen_lock_from([("local", {"idle-delay": 120}, {"/org/gnome/desktop"})])
    assert locked == {"idle-delay", "lock-enabled", "lock-delay"}
    assert res == {"enabled": True, "idle_seconds": 120, "enforced": True}


def test_screen_lock_server_without_desktop(probe, ctx_for):
    ctx = ctx_for("rootfs-debian12")
    probe.collect_screen_lock(ctx)
    assert ctx.facts["screen_lock"] == {"enabled": False, "idle_seconds": None, "enforced": False}


def test_screen_lock_non_gnome_desktop_is_error(probe, ctx_for):
    ctx = ctx_for("dconf-xfce")
    probe.collect_screen_lock(ctx)
    assert "screen_lock" not in ctx.facts
    assert "xfce.desktop" in ctx.errors["/screen_lock/enabled"]


def test_firmware_thinklmi(probe, ctx_for):
    ctx = ctx_for("firmware-thinklmi")
    probe.collect_firmware(ctx)
    assert ctx.facts["firmware"] == {"interface": "thinklmi", "admin_password_set": True,
                                     "power_on_password_set": False}


def test_firmware_dell_admin_only(probe, ctx_for):
    ctx = ctx_for("firmware-dell")
    probe.collect_firmware(ctx)
    assert ctx.facts["firmware"] == {"interface": "dell-wmi-sysman", "admin_password_set": False}
    assert "/firmware/power_on_password_set" in ctx.errors


def test_firmware_absent_interface(probe, ctx_for):
    ctx = ctx_for("rootfs-minimal")
    probe.collect_firmware(ctx)
    assert "firmware" not in ctx.facts
    assert "firmware-attributes" in ctx.errors["/firmware/admin_password_set"]


def test_firmware_class_without_drivers(probe, ctx_for):
    ctx = ctx_for("firmware-empty")
    probe.collect_firmware(ctx)
    assert "firmware" not in ctx.facts
    assert set(ctx.errors) == {"/firmware/interface", "/firmware/admin_password_set",
                               "/firmware/power_on_password_set"}


def test_disk_lvm_on_luks(probe, ctx_for):
    ctx = ctx_for("disk-lvm-on-luks")
    probe.collect_disk_encryption(ctx)
    assert ctx.facts["disk_encryption"] == {"os_volume_encrypted": True, "method": "luks2"}
    sources = [e["source"] for e in ctx.evidence["/disk_encryption"]]
    assert "file:/etc/crypttab" in sources


def test_disk_plain_partition(probe, ctx_for):
    ctx = ctx_for("disk-plain")
    probe.collect_disk_encryption(ctx)
    assert ctx.facts["disk_encryption"] == {"os_volume_encrypted": False, "method": None}


def test_disk_overlay_root_is_error(probe, ctx_for):
    ctx = ctx_for("disk-overlay")
    probe.collect_disk_encryption(ctx)
    assert "disk_encryption" not in ctx.facts
    assert ctx.errors["/disk_encryption/os_volume_encrypted"].startswith(
        "root filesystem is not on a block device the probe can resolve")


def test_mountinfo_last_root_wins(probe):
    text = ("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
            "5 1 0:40 / /proc rw - proc proc rw\n"
            "9 1 253:0 / / rw shared:1 - ext4 /dev/mapper/root rw\n")
    root = probe.parse_mountinfo_root(text)
    assert root["majmin"] == "253:0"
    assert root["source"] == "/dev/mapper/root"
    assert probe.crypt_method("CRYPT-PLAIN-cryptswap") == "plain"
    assert probe.crypt_method("LVM-xyz") is None


def test_cvd_header(probe, fixtures):
    db = fixtures / "av-clamav" / "srv" / "clamav-db"
    ts = probe.parse_cvd_header((db / "daily.cld").read_bytes())
    # "14 Mar 2024 08-24 +0900" is 23:24 UTC on 13 Mar 2024
    assert time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) == "2024-03-13 23:24"
    assert probe.parse_cvd_header((db / "bytecode.cvd").read_bytes()) is None
    assert probe.parse_cvd_header(b"") is None


def test_antimalware_clamd_only_is_not_resident(probe, ctx_for):
    now = 1710460800.0  # 2024-03-15 00:00 UTC
    ctx = ctx_for("av-clamav", now=now)
    probe.collect_antimalware(ctx)
    av = ctx.facts["antimalware"]
    assert av["products"] == ["clamav"]
    assert av["resident"] is False  # clamd without clamonacc scans only on request
    # newest db is daily.cld (2024-03-13 23:24 UTC, not main.cvd of 2021), read from
    # DatabaseDirectory /srv/clamav-db: 1 day 36 minutes old
    assert av["signature_age_days"] == pytest.approx(1.025, abs=0.006)


def test_antimalware_custom_db_mtime(probe, tmp_path):
    db = tmp_path / "var" / "lib" / "clamav"
    db.mkdir(parents=True)
    custom = db / "local.ndb"
    custom.write_text("Sig:0:*:414141\n")
    os.utime(custom, (1_700_000_000, 1_700_000_000))
    (db / "notes.txt").write_text("not a db\n")
    ctx = probe.Ctx(str(tmp_path), now=1_700_000_000 + 2.5 * 86400)
    probe.collect_antimalware(ctx)
    assert ctx.facts["antimalware"]["signature_age_days"] == 2.5
    assert "/antimalware/products" in ctx.errors  # no /proc under this root


def test_antimalware_resident(probe, ctx_for):
    ctx = ctx_for("av-onaccess")
    probe.collect_antimalware(ctx)
    av = ctx.facts["antimalware"]
    assert av["products"] == ["clamav", "microsoft-defender"]
    assert av["resident"] is True
    assert av["signature_age_days"] is None
