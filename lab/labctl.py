#!/usr/bin/env python3
"""labctl: the hardening demo/test lab, real Debian hosts on one machine.

Each lab host is a real bookworm userland (sshd, chronyd, rsyslogd, clamd ...) running in its own
network/mount/pid/uts/ipc namespaces on an overlay of one cached debootstrap root:

    base      build (once) the cached base root /var/cache/hardening-lab/base-bookworm
    up        bring up one host per inventory host in 10.203.0.0/16 (+ lab.yaml extra_hosts), and the
              simulated network devices of lab.yaml `netsim` (routers, switches, firewalls; real SSH), the
              simulated Windows hosts of lab.yaml `winsim` (WinRM over HTTP/HTTPS) and the simulated
              printers of lab.yaml `mfpsim` (snmpsim agents, web admin, service listeners)
    down      stop every lab host, remove netns/veths/bridge, unmount overlays (--purge: state too)
    status    table of the lab hosts
    exec      run a command inside a running host (nsenter, no ssh)
    wait-sync wait until chrony is synchronised on the demo hosts (`up` does it too)

What is deliberately wrong with each host lives in lab/lab.yaml (drifts); the compliant baseline
is the file tree under lab/baseline/. Run as root, with the project's venv python (ansible-core is
needed for writing the ansible-vault file):  .venv/bin/python lab/labctl.py up

Only stdlib + PyYAML (+ ansible's vault lib). Everything the lab creates on the machine:
/var/cache/hardening-lab (base root), /var/lib/hardening-lab (keys, vault, per-host state),
network namespaces hlab-<host> (+ hlab-netsim, hlab-winsim, hlab-mfpsim), veths hlv*, bridge hlab0 (10.203.0.1/16,
no uplink, no forwarding).
"""
from __future__ import annotations

import argparse
import dataclasses
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

# --------------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------------
LAB_DIR = Path(__file__).resolve().parent
REPO_DIR = LAB_DIR.parent
DEFAULT_INVENTORY = REPO_DIR / "inventory"
LAB_YAML = LAB_DIR / "lab.yaml"
BASELINE_DIR = LAB_DIR / "baseline"

CACHE_DIR = Path("/var/cache/hardening-lab")
BASE_DIR = CACHE_DIR / "base-bookworm"
BASE_RECIPE_FILE = CACHE_DIR / "base-bookworm.recipe"   # sha256 of the recipe the base was built from
BASE_BUILD_ID_FILE = CACHE_DIR / "base-bookworm.build-id"   # changes at every build: hosts re-provision
BASE_LOG = CACHE_DIR / "base-build.log"

STATE_DIR = Path("/var/lib/hardening-lab")
HOSTS_DIR = STATE_DIR / "hosts"          # per-host overlay upper/work/merged + runtime files
HOSTKEYS_DIR = STATE_DIR / "hostkeys"    # ssh host keys per host name: kept by --purge (stable known_hosts)
SSH_DIR = STATE_DIR / "ssh"
CLIENT_KEY = SSH_DIR / "id_ed25519"
KNOWN_HOSTS = SSH_DIR / "known_hosts"
SSH_CONFIG = SSH_DIR / "config"
VAULT_FILE = STATE_DIR / "vault.yml"
VAULT_PASS_FILE = STATE_DIR / "vault-pass"
ROOT_PW_FILE = STATE_DIR / "root-password"
ROOT_PW_HASH_FILE = STATE_DIR / "root-password.hash"   # cached crypt hash: a new salt would re-provision
LOCK_FILE = STATE_DIR / ".labctl.lock"

LAB_USER = "hardening"
BRIDGE = "hlab0"
BRIDGE_ADDR = "10.203.0.1"
SUBNET = ipaddress.ip_network("10.203.0.0/16")
NETNS_PREFIX = "hlab-"
VETH_PREFIX = "hlv"
APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
LINUX_CLASSES = ("linux_server", "linux_pc")
# Network device simulators (lab/netsim): one process in its own netns, one address per device on eth0.
NETSIM_NS = NETNS_PREFIX + "netsim"
NETSIM_VETH = VETH_PREFIX + "netsim"
NETSIM_DIR = STATE_DIR / "netsim"                 # spec.json (0600), netsim.log, devices/<name>/ (config state)
NETSIM_SECRETS = STATE_DIR / "netsim-secrets.json"   # generated device passwords (0600; kept by --purge)
NETSIM_CODE = LAB_DIR / "netsim"
# Simulated Windows hosts (lab/winsim): one WinRM simulator process in its own netns, one address per host (5985/5986).
WINSIM_NS = NETNS_PREFIX + "winsim"
WINSIM_VETH = VETH_PREFIX + "winsim"
WINSIM_DIR = STATE_DIR / "winsim"                 # spec.json (0600), winsim.log, pki/ (lab CA), hosts/<name>/ (state)
WINSIM_SECRETS = STATE_DIR / "winsim-secrets.json"   # generated Windows/BIOS passwords (0600; kept by --purge)
WINSIM_CODE = LAB_DIR / "winsim"
WINSIM_CA = WINSIM_DIR / "pki" / "ca.pem"        # the inventory's ca_trust_path for HTTPS hosts

MFPSIM_NS = NETNS_PREFIX + "mfpsim"
MFPSIM_VETH = VETH_PREFIX + "mfpsim"
MFPSIM_DIR = STATE_DIR / "mfpsim"                 # spec.json + snmpsim.args (0600), logs, data/, cache/, pki/,
                                                  # attempts.json (web login attempts per host and account)
MFPSIM_SECRETS = STATE_DIR / "mfpsim-secrets.json"   # generated SNMPv3 keys, communities, web passwords (0600)
MFPSIM_CODE = LAB_DIR / "mfpsim"
MFPSIM_ATTEMPTS = MFPSIM_DIR / "attempts.json"

# Base recipe. Anything here changes the recipe hash and so triggers a rebuild of the base.
SUITE = "bookworm"
BASE_PACKAGES = [
    "openssh-server", "openssh-sftp-server", "chrony", "rsyslog", "python3", "python3-apt", "sudo",
    "libpam-pwquality", "logrotate", "iproute2", "procps", "iputils-ping", "cron", "tini",
    "clamav-daemon", "kmod",
]
# Kept as .debs in the base (not installed) so a drift can dpkg -i them into one host offline: one
# directory per set (DRIFT_DEBS_DIR/<set>/*.deb), so a drift installs exactly its own packages.
DRIFT_DEBS = {
    "inetd": ["openbsd-inetd", "inetutils-telnetd"],
    "snmpd": ["snmpd"],
    "timesyncd": ["systemd-timesyncd"],
}
DRIFT_DEBS_DIR = "/var/cache/lab-debs"
# What the lab and the tests need on the machine: package -> a command it provides (or a path it installs).
# chromium + the CJK fonts: the report test runs the HTML report's script in a real headless browser,
# and screenshots of the Japanese report need the fonts (without them the text renders as boxes).
HOST_PACKAGES = {
    "debootstrap": "debootstrap", "iproute2": "ip", "util-linux": "nsenter", "mount": "mount",
    "openssh-client": "ssh-keygen", "openssl": "openssl",
    "chromium": "chromium", "fonts-noto-cjk": "/usr/share/fonts/opentype/noto",
    # the history's PostgreSQL tests start a server of their own (initdb + pg_ctl in a temporary directory)
    "postgresql": "/usr/lib/postgresql",
}
# Runs inside the fresh debootstrap root (chroot). Nothing host-specific may stay in the base.
BASE_POST_SCRIPT = r"""
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
# No init runs inside the lab: maintainer scripts (dpkg -i of a drift) must never try to start services.
printf '#!/bin/sh\n# lab: services are started by the lab init, never by maintainer scripts\nexit 101\n' \
  > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
# .debs a drift installs later with dpkg -i: download only (with the dependencies the base lacks).
apt-get update -q
DRIFT_DEB_DOWNLOADS
# rsyslog: imklog would read the real machine's /proc/kmsg (shared kernel ring buffer).
sed -i -E 's/^(module\(load="imklog".*)$/#\1  # lab: disabled, the kernel log belongs to the real machine/' \
  /etc/rsyslog.conf
! grep -q '^module(load="imklog"' /etc/rsyslog.conf
# chrony: no default pool (no internet); the baseline writes the site's configuration.
sed -i -E '/^(pool|server) /d' /etc/chrony/chrony.conf
# pam_pwquality must be in the password stack (libpam-pwquality's pam-auth-update profile puts it there).
grep -q pam_pwquality.so /etc/pam.d/common-password || pam-auth-update --package --enable pwquality
grep -q pam_pwquality.so /etc/pam.d/common-password
# Nothing host-specific: host keys, machine-id, hostname, resolver are written per host by labctl.
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
echo localhost > /etc/hostname
: > /etc/resolv.conf
# clamav: no databases in the base (the baseline ships the site's local db), freshclam never runs.
rm -rf /var/lib/clamav/* /var/log/clamav/*
# apt caches and build logs
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/log/apt/* /var/log/bootstrap.log
find /var/log -type f \( -name '*.log' -o -name 'lastlog' -o -name 'wtmp' -o -name 'btmp' \) -exec truncate -s 0 {} +
""".replace("DRIFT_DEB_DOWNLOADS", "\n".join(
    f"mkdir -p {DRIFT_DEBS_DIR}/{name}/partial\n"
    f"apt-get install -y -q --download-only --no-install-recommends -o Dir::Cache::archives={DRIFT_DEBS_DIR}/{name} "
    f"{' '.join(packages)}\n"
    f"rm -rf {DRIFT_DEBS_DIR}/{name}/partial {DRIFT_DEBS_DIR}/{name}/lock\n"
    f"ls {DRIFT_DEBS_DIR}/{name}/*.deb >/dev/null"
    for name, packages in DRIFT_DEBS.items()))
BASE_RECIPE_VERSION = "3"

# Bump when the provisioning logic changes: hosts are re-provisioned (upper layer wiped) on next up.
PROVISION_VERSION = "4"


class LabError(Exception):
    """A failure with a message meant for the user (no traceback)."""


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------
def log(msg: str) -> None:
    print(msg, flush=True)


def run(cmd: list[str], *, check: bool = True, input: str | None = None, env: dict[str, str] | None = None,
        capture: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise LabError with its stderr (commands here are short and quiet)."""
    proc = subprocess.run(cmd, input=input, text=True, env=env,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout or "").strip()
        raise LabError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{err[-2000:]}")
    return proc


def write_file(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write atomically-enough for our purposes, with an explicit mode (umask-independent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)


def sha256_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def mounts() -> list[str]:
    """Mount points of labctl's own mount namespace (the root one), decoded from mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            out.append(mp.encode().decode("unicode_escape"))
    return out


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("labctl must run as root (namespaces, mounts, debootstrap)")


def debian_mirror() -> str:
    """The Debian mirror, read at run time from the machine's deb822 sources (never hard-coded).

    Other list files may name unreachable repositories, so only debian.sources is read: the first
    stanza whose Suites has the plain release (not -security/-updates).
    """
    if not APT_SOURCES.exists():
        raise LabError(f"{APT_SOURCES} not found: cannot tell which Debian mirror to use")
    for stanza in APT_SOURCES.read_text().split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if SUITE in fields.get("suites", "").split() and fields.get("uris"):
            return fields["uris"].split()[0]
    raise LabError(f"no stanza with Suites: {SUITE} and a URIs: line in {APT_SOURCES}")


# --------------------------------------------------------------------------------------------------
# base: the cached debootstrap root
# --------------------------------------------------------------------------------------------------
def base_recipe_hash() -> str:
    return sha256_json({"suite": SUITE, "variant": "minbase", "packages": BASE_PACKAGES,
                        "drift_debs": DRIFT_DEBS, "post": BASE_POST_SCRIPT, "version": BASE_RECIPE_VERSION})


def base_build_id() -> str:
    """Identity of the base build the hosts' upper layers were made on (recipe + build)."""
    build = BASE_BUILD_ID_FILE.read_text().strip() if BASE_BUILD_ID_FILE.exists() else "unknown"
    return f"{base_recipe_hash()} {build}"


def base_is_current() -> bool:
    return (BASE_DIR / "usr/bin/tini").exists() and BASE_RECIPE_FILE.exists() \
        and BASE_RECIPE_FILE.read_text().strip() == base_recipe_hash()


def ensure_host_packages() -> None:
    """apt-get install what labctl needs on the machine, only if missing (apt-get update first)."""
    missing = []
    for pkg, cmd in HOST_PACKAGES.items():
        st = run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg], check=False)
        present = Path(cmd).exists() if cmd.startswith("/") else shutil.which(cmd) is not None
        if st.stdout.strip() != "installed" or not present:
            missing.append(pkg)
    if not missing:
        return
    log(f"installing machine packages: {' '.join(missing)}")
    # Other engineers may be running apt at the same time: wait for the locks instead of failing.
    lock_opt = ["-o", "DPkg::Lock::Timeout=600"]
    for _ in range(10):
        if run(["apt-get", *lock_opt, "update", "-q"], check=False).returncode == 0:
            break
        time.sleep(5)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", *lock_opt, "install", "-y", "-q", "--no-install-recommends", *missing], env=env)


def _unmount_under(root: Path) -> None:
    """Unmount everything mounted below root (deepest first) before deleting a tree."""
    prefix = str(root).rstrip("/") + "/"
    for mp in sorted((m for m in mounts() if m == str(root) or m.startswith(prefix)),
                     key=len, reverse=True):
        run(["umount", "-l", mp], check=False)


def _rmtree_safely(path: Path) -> None:
    """rm -rf that never descends into something mounted (a leftover /proc would be disastrous)."""
    if not path.exists():
        return
    _unmount_under(path)
    if any(m == str(path) or m.startswith(str(path) + "/") for m in mounts()):
        raise LabError(f"refusing to delete {path}: something is still mounted below it")
    shutil.rmtree(path)


def base_users() -> list[str]:
    """Mount points of overlays (ours or anyone's) whose lower layer is the base: rebuilding the base
    under them would corrupt them."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.startswith("overlay ") and f"lowerdir={BASE_DIR}" in post:
                out.append(pre.split()[4])
    return out


def cmd_base(args: argparse.Namespace | None = None) -> None:
    require_root()
    t0 = time.monotonic()
    ensure_host_packages()
    want = base_recipe_hash()
    if base_is_current():
        log(f"base: {BASE_DIR} is current (recipe {want[:12]}), nothing to do [{time.monotonic() - t0:.1f}s]")
        return
    users = base_users()
    if users:
        raise LabError("base must be (re)built but overlays still use it as their lower layer "
                       f"(run `labctl down` first): {', '.join(users[:5])}")
    mirror = debian_mirror()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CACHE_DIR / "base-bookworm.new"
    _rmtree_safely(tmp)
    log(f"base: debootstrap --variant=minbase {SUITE} from {mirror} (log: {BASE_LOG})")
    t1 = time.monotonic()
    with open(BASE_LOG, "w") as logf:
        rc = subprocess.run(
            ["debootstrap", "--variant=minbase", "--components=main",
             "--include=" + ",".join(BASE_PACKAGES), SUITE, str(tmp), mirror],
            stdout=logf, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        tail = BASE_LOG.read_text(errors="replace").splitlines()[-25:]
        raise LabError("debootstrap failed:\n" + "\n".join(tail))
    t2 = time.monotonic()
    log(f"base: debootstrap done [{t2 - t1:.1f}s]; post-configuring (drift .debs, imklog, chrony, cleanup)")
    with open(BASE_LOG, "a") as logf:
        rc = subprocess.run(["chroot", str(tmp), "/bin/sh", "-c", BASE_POST_SCRIPT],
                            stdout=logf, stderr=subprocess.STDOUT).returncode
    _unmount_under(tmp)
    if rc != 0:
        tail = BASE_LOG.read_text(errors="replace").splitlines()[-25:]
        raise LabError("base post-configuration failed:\n" + "\n".join(tail))
    t3 = time.monotonic()
    # Swap in atomically-ish: the old base (if any) is only removed once the new one is complete.
    old = CACHE_DIR / "base-bookworm.old"
    _rmtree_safely(old)
    if BASE_DIR.exists():
        BASE_DIR.rename(old)
    tmp.rename(BASE_DIR)
    BASE_RECIPE_FILE.write_text(want + "\n")
    BASE_BUILD_ID_FILE.write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {secrets.token_hex(8)}\n")
    _rmtree_safely(old)
    size = run(["du", "-sh", str(BASE_DIR)]).stdout.split()[0]
    log(f"base: ready {BASE_DIR} ({size}); post-config {t3 - t2:.1f}s, total {time.monotonic() - t0:.1f}s")


# --------------------------------------------------------------------------------------------------
# Lab definition: inventory + lab.yaml -> host specs
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class HostSpec:
    """Everything needed to provision and start one lab host."""
    name: str
    ip: str
    device_class: str
    zone: str | None
    roles: list[str]
    profile: str                      # lab.yaml profiles key: "demo" or "other"
    inventory: str                    # where the host came from (inventory dir or "lab.yaml")
    drifts: list[str]
    services: list[str]               # ordered names from lab.yaml services
    boot: list[str]                   # shell lines run at every start, before services
    pc_sys: dict[str, Any] | None     # simulated firmware/dm tree for linux_pc, else None
    cgroup: bool = False              # a service needs /sys/fs/cgroup (read-only cgroup2): lab.yaml `cgroup: true`

    @property
    def state(self) -> Path:
        return HOSTS_DIR / self.name

    @property
    def netns(self) -> str:
        return NETNS_PREFIX + self.name

    @property
    def veth(self) -> str:
        return veth_name(self.ip)


def veth_name(ip: str) -> str:
    """Root-side veth name from the IP (<= 15 chars, stable, so teardown needs no bookkeeping)."""
    o = ipaddress.ip_address(ip).packed
    return f"{VETH_PREFIX}{o[2]}x{o[3]}"


def load_lab() -> dict[str, Any]:
    try:
        lab: dict[str, Any] = yaml.safe_load(LAB_YAML.read_text())
    except yaml.YAMLError as e:
        raise LabError(f"{LAB_YAML}: {e}") from None
    for host, drifts in (lab.get("hosts") or {}).items():
        for d in drifts or []:
            if d not in lab["drifts"]:
                raise LabError(f"lab.yaml: host {host} lists unknown drift {d!r}")
    return lab


class _Inventory:
    """Minimal Nornir SimpleInventory resolution: host data, then its groups (recursively, in
    order), then defaults; the first that has the key wins (what Nornir's Host.get does)."""

    def __init__(self, inv_dir: Path):
        def load(name: str) -> dict[str, Any]:
            p = inv_dir / name
            return (yaml.safe_load(p.read_text()) or {}) if p.exists() else {}
        if not (inv_dir / "hosts.yaml").exists():
            raise LabError(f"{inv_dir}/hosts.yaml not found")
        self.hosts: dict[str, Any] = load("hosts.yaml")
        self.groups: dict[str, Any] = load("groups.yaml")
        self.defaults: dict[str, Any] = load("defaults.yaml")

    def _group_chain(self, groups: Iterable[str], seen: set[str]) -> Iterable[dict[str, Any]]:
        for g in groups:
            if g in seen or g not in self.groups:
                continue
            seen.add(g)
            grp = self.groups[g] or {}
            yield grp
            yield from self._group_chain(grp.get("groups") or [], seen)

    def get(self, host: str, key: str) -> Any:
        h = self.hosts[host] or {}
        for layer in [h, *self._group_chain(h.get("groups") or [], set()), self.defaults]:
            data = layer.get("data") or {}
            if key in data:
                return data[key]
        return None

    def platform(self, host: str) -> Any:
        h = self.hosts[host] or {}
        for layer in [h, *self._group_chain(h.get("groups") or [], set()), self.defaults]:
            if layer.get("platform"):
                return layer["platform"]
        return None


def build_specs(lab: dict[str, Any], inv_dir: Path) -> tuple[list[HostSpec], list[str]]:
    """Host specs for an inventory dir (+ extra_hosts for the default inventory); also notes about
    inventory hosts that are not lab hosts (outside the lab subnet, not Linux)."""
    is_demo = inv_dir.resolve() == DEFAULT_INVENTORY.resolve()
    inv = _Inventory(inv_dir)
    raw: list[dict[str, Any]] = []
    notes: list[str] = []
    for name in inv.hosts:
        h = inv.hosts[name] or {}
        raw.append({"name": name, "hostname": h.get("hostname"), "device_class": inv.get(name, "device_class"),
                    "zone": inv.get(name, "zone"), "roles": inv.get(name, "roles") or [],
                    "platform": inv.platform(name), "inventory": str(inv_dir)})
    if is_demo:
        for name, h in (lab.get("extra_hosts") or {}).items():
            raw.append({"name": name, "hostname": h["hostname"], "device_class": h["device_class"],
                        "zone": h.get("zone"), "roles": h.get("roles") or [], "platform": "linux",
                        "inventory": "lab.yaml extra_hosts"})
    profile = "demo" if is_demo else "other"
    specs: list[HostSpec] = []
    for r in raw:
        try:
            ip = ipaddress.ip_address(str(r["hostname"]))
        except ValueError:
            notes.append(f"{r['name']}: hostname {r['hostname']!r} is not an IP, skipped")
            continue
        if ip not in SUBNET or str(ip) == BRIDGE_ADDR or ip in (SUBNET.network_address, SUBNET.broadcast_address):
            notes.append(f"{r['name']}: {ip} is not a lab address, skipped")
            continue
        if r["device_class"] not in LINUX_CLASSES or (r["platform"] not in (None, "linux")):
            notes.append(f"{r['name']}: device_class {r['device_class']} / platform {r['platform']} "
                         "is not a Linux lab host, skipped")
            continue
        drifts = list((lab.get("hosts") or {}).get(r["name"]) or []) if is_demo else []
        specs.append(make_spec(lab, r, str(ip), profile, drifts))
    return specs, notes


def make_spec(lab: dict[str, Any], r: dict[str, Any], ip: str, profile: str, drifts: list[str]) -> HostSpec:
    prof = lab["profiles"][profile]
    services = list(prof.get("services") or [])
    services += [s for s in (lab.get("host_services") or {}).get(r["name"], []) if profile == "demo"]
    boot = list(prof.get("boot") or [])
    pc_sys = json.loads(json.dumps(lab["pc_sys"])) if r["device_class"] == "linux_pc" else None
    for d in drifts:
        drift = lab["drifts"][d]
        services = [s for s in services if s not in (drift.get("stop") or [])]
        services += [s for s in drift.get("start") or [] if s not in services]
        boot += drift.get("boot") or []
        if pc_sys is not None:
            _deep_update(pc_sys, drift.get("pc_sys") or {})
    for s in services:
        if s not in lab["services"]:
            raise LabError(f"lab.yaml: unknown service {s!r} (host {r['name']})")
    return HostSpec(name=r["name"], ip=ip, device_class=r["device_class"], zone=r["zone"],
                    roles=list(r["roles"]), profile=profile, inventory=r["inventory"], drifts=drifts,
                    services=services, boot=boot, pc_sys=pc_sys,
                    cgroup=any(lab["services"][s].get("cgroup") for s in services))


def _deep_update(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_update(dst[k], v)
        else:
            dst[k] = v


def applicable_layers(lab: dict[str, Any], spec: HostSpec) -> list[dict[str, Any]]:
    """lab.yaml baseline layers that apply to a host, in order (later files replace earlier ones)."""
    out = []
    for layer in lab["baseline"]["layers"]:
        if "if_role" in layer and layer["if_role"] not in spec.roles:
            continue
        if "unless_role" in layer and layer["unless_role"] in spec.roles:
            continue
        if "if_zone" in layer and layer["if_zone"] != spec.zone:
            continue
        if "if_class" in layer and layer["if_class"] != spec.device_class:
            continue
        out.append(layer)
    return out


def baseline_layers(lab: dict[str, Any], spec: HostSpec) -> list[Path]:
    return [BASELINE_DIR / layer["dir"] for layer in applicable_layers(lab, spec)]


def expected_ports(lab: dict[str, Any], spec: HostSpec) -> set[str]:
    """"proto/port" a host should expose to the network: its services' plus its layers' ports."""
    ports = {p for layer in applicable_layers(lab, spec) for p in layer.get("ports") or []}
    ports |= {p for s in spec.services for p in lab["services"][s].get("ports") or []}
    return ports


def layer_files(layers: list[Path]) -> dict[str, Path]:
    """Host path -> source file, later layers winning."""
    files: dict[str, Path] = {}
    for layer in layers:
        for src in sorted(layer.rglob("*")):
            if src.is_file():
                files["/" + str(src.relative_to(layer))] = src
    return files


# --------------------------------------------------------------------------------------------------
# Secrets: client key, root password, vault
# --------------------------------------------------------------------------------------------------
def _import_vault() -> tuple[Any, Any]:
    try:
        from ansible.parsing.vault import VaultLib, VaultSecret
    except Exception as e:  # any import problem means the same thing to the user
        raise LabError(f"ansible-core's vault library is not importable by {sys.executable} ({e}).\n"
                       "Run labctl with the project's venv python, e.g. .venv/bin/python lab/labctl.py up") from None
    return VaultLib, VaultSecret


def _secret_file(path: Path, make: Callable[[], str]) -> str:
    """Read a 0600 secret file, creating it once."""
    if not path.exists():
        write_file(path, make(), 0o600)
    os.chmod(path, 0o600)
    return path.read_text().strip()


def ensure_secrets(device_credentials: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """Client key, root password and the vault: credentials `lab` (the Linux hosts) and one entry per
    simulated network device's credentials name (username, password, enable_secret)."""
    VaultLib, VaultSecret = _import_vault()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(STATE_DIR, 0o700)
    SSH_DIR.mkdir(mode=0o700, exist_ok=True)
    if not CLIENT_KEY.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hardening-lab", "-f", str(CLIENT_KEY)])
    pubkey = Path(str(CLIENT_KEY) + ".pub").read_text().strip()
    vault_pass = _secret_file(VAULT_PASS_FILE, lambda: secrets.token_urlsafe(32) + "\n")
    root_pw = _secret_file(ROOT_PW_FILE, lambda: secrets.token_urlsafe(18) + "\n")

    def make_hash() -> str:
        return run(["openssl", "passwd", "-6", "-stdin"], input=root_pw + "\n").stdout.strip() + "\n"
    root_hash = _secret_file(ROOT_PW_HASH_FILE, make_hash)

    class _Dumper(yaml.SafeDumper):
        """Multi-line strings (the PEM key) as literal blocks: readable in `ansible-vault view`."""

    _Dumper.add_representer(str, lambda d, s: d.represent_scalar(
        "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))
    credentials: dict[str, Any] = {"lab": {"username": LAB_USER, "private_key": CLIENT_KEY.read_text()}}
    credentials.update(device_credentials or {})
    plaintext = yaml.dump({"credentials": credentials},
                          Dumper=_Dumper, default_flow_style=False, allow_unicode=True, sort_keys=False)
    vault = VaultLib([("default", VaultSecret(vault_pass.encode()))])
    current: str | None = None
    if VAULT_FILE.exists():
        try:
            current = vault.decrypt(VAULT_FILE.read_bytes()).decode()
        except Exception:  # unreadable or another password: rewrite it
            current = None
    if current is None or yaml.safe_load(current) != yaml.safe_load(plaintext):
        write_file(VAULT_FILE, vault.encrypt(plaintext.encode()), 0o600)
    return {"pubkey": pubkey, "root_hash": root_hash}


def ensure_hostkeys(name: str) -> dict[str, str]:
    """Per-host-name ssh host keys, generated once and cached (stable known_hosts across runs).
    RSA is skipped on purpose: 0.5 s CPU per key; ed25519 + ecdsa cover every client we use."""
    d = HOSTKEYS_DIR / name
    d.mkdir(parents=True, exist_ok=True)
    pubs = {}
    for kind in ("ed25519", "ecdsa"):
        key = d / f"ssh_host_{kind}_key"
        if not key.exists() or not Path(str(key) + ".pub").exists():
            key.unlink(missing_ok=True)
            run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"root@{name}", "-f", str(key)])
        pubs[kind] = Path(str(key) + ".pub").read_text().strip()
    return pubs


# --------------------------------------------------------------------------------------------------
# Runtime state: which hosts are up
# --------------------------------------------------------------------------------------------------
def lab_netns() -> list[str]:
    try:
        return sorted(n for n in os.listdir("/run/netns") if n.startswith(NETNS_PREFIX))
    except FileNotFoundError:
        return []


def netns_pids() -> dict[str, list[int]]:
    """Processes inside each lab netns (one /proc scan). These are the only processes labctl kills."""
    inodes: dict[tuple[int, int], str] = {}
    for ns in lab_netns():
        try:
            st = os.stat(f"/run/netns/{ns}")
            inodes[(st.st_dev, st.st_ino)] = ns
        except FileNotFoundError:
            pass
    out: dict[str, list[int]] = {ns: [] for ns in inodes.values()}
    if not inodes:
        return out
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        owner = inodes.get((st.st_dev, st.st_ino))
        if owner:
            out[owner].append(int(entry))
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def running_hosts() -> dict[str, int]:
    """Host name -> pid (root-ns view) of its tini, for hosts whose init is alive."""
    out = {}
    for ns, pids in netns_pids().items():
        for pid in pids:
            if _comm(pid) == "tini":
                out[ns[len(NETNS_PREFIX):]] = pid
                break
    return out


def ssh_banner(ip: str, timeout: float = 0.5) -> bool:
    """True when sshd accepts TCP on :22 and sends its version banner."""
    try:
        with socket.create_connection((ip, 22), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(64).startswith(b"SSH-")
    except OSError:
        return False


# --------------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------------
def ensure_bridge() -> None:
    """Bridge hlab0 with 10.203.0.1/16 in the root ns: the auditor connects from here. No uplink:
    only lab veths are enslaved, and the machine's forwarding setting is left as it is."""
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        run(["ip", "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0", "stp_state", "0"])
    addrs = run(["ip", "-j", "-4", "addr", "show", "dev", BRIDGE]).stdout
    if f'"{BRIDGE_ADDR}"' not in addrs:
        run(["ip", "addr", "add", f"{BRIDGE_ADDR}/{SUBNET.prefixlen}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    # Nothing else may route (parts of) the lab subnet: check every route inside it uses the bridge.
    routes = json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all", "root", str(SUBNET)]).stdout or "[]")
    stray = [r for r in routes if r.get("dev") != BRIDGE and r.get("type") not in ("local", "broadcast")]
    if stray:
        raise LabError(f"routes for {SUBNET} outside {BRIDGE}: {stray}; remove them first")


def net_up(spec: HostSpec) -> None:
    """netns + veth pair: eth0 (host IP /16, no default route) inside, the peer on the bridge."""
    if not Path(f"/run/netns/{spec.netns}").exists():
        run(["ip", "netns", "add", spec.netns])
    if Path(f"/sys/class/net/{spec.veth}").exists():     # stale peer from a half-started host
        run(["ip", "link", "del", spec.veth], check=False)
    run(["ip", "-n", spec.netns, "link", "del", "eth0"], check=False)
    run(["ip", "link", "add", spec.veth, "type", "veth", "peer", "name", "eth0", "netns", spec.netns])
    run(["ip", "link", "set", spec.veth, "master", BRIDGE, "up"])
    run(["ip", "-n", spec.netns, "-b", "-"], input=(
        f"addr add {spec.ip}/{SUBNET.prefixlen} dev eth0\nlink set lo up\nlink set eth0 up\n"))


# --------------------------------------------------------------------------------------------------
# Provisioning (first bring-up of a host: its overlay upper layer)
# --------------------------------------------------------------------------------------------------
def _det_uuid(*parts: str) -> uuid.UUID:
    """A UUID stable per host (so re-provisioning gives the same identifiers)."""
    return uuid.UUID(hashlib.sha256("/".join(parts).encode()).hexdigest()[:32])


def provision_fingerprint(lab: dict[str, Any], spec: HostSpec, sec: dict[str, str], hostkeys: dict[str, str]) -> str:
    files = layer_files(baseline_layers(lab, spec))
    return sha256_json({
        "v": PROVISION_VERSION, "base": base_build_id(), "ip": spec.ip, "class": spec.device_class,
        "zone": spec.zone, "roles": spec.roles, "pubkey": sec["pubkey"], "root": sec["root_hash"],
        "hostkeys": hostkeys, "pc_sys": spec.pc_sys,
        "files": {p: hashlib.sha256(src.read_bytes()).hexdigest() for p, src in files.items()},
        "modes": lab["baseline"].get("modes"), "owners": lab["baseline"].get("owners"),
        "drifts": {d: {k: lab["drifts"][d].get(k) for k in ("files", "remove", "run")} for d in spec.drifts},
    })


def overlay_mounted(spec: HostSpec) -> bool:
    return str(spec.state / "merged") in mounts()


def mount_overlay(spec: HostSpec) -> None:
    for d in ("upper", "work", "merged"):
        (spec.state / d).mkdir(parents=True, exist_ok=True)
    if not overlay_mounted(spec):
        run(["mount", "-t", "overlay", f"hlab-{spec.name}", "-o",
             f"lowerdir={BASE_DIR},upperdir={spec.state / 'upper'},workdir={spec.state / 'work'}",
             str(spec.state / "merged")])


def _host_path(root: Path, path: str) -> Path:
    if not path.startswith("/") or ".." in Path(path).parts:
        raise LabError(f"lab.yaml: bad host path {path!r}")
    return root / path.lstrip("/")


def provision(lab: dict[str, Any], spec: HostSpec, sec: dict[str, str], hostkeys: dict[str, str]) -> None:
    """Write the compliant baseline, the host's identity and its drifts into its upper layer."""
    root = spec.state / "merged"
    modes = {k: int(str(v), 8) for k, v in (lab["baseline"].get("modes") or {}).items()}
    # 1. baseline files
    for path, src in layer_files(baseline_layers(lab, spec)).items():
        write_file(_host_path(root, path), src.read_bytes(), modes.get(path, 0o644))
    # 2. identity: hostname, hosts, machine-id, ssh host keys (+ a crypttab for an encrypted PC root)
    write_file(root / "etc/hostname", spec.name + "\n")
    write_file(root / "etc/hosts", f"127.0.0.1\tlocalhost\n{spec.ip}\t{spec.name}\n"
               "::1\tlocalhost ip6-localhost ip6-loopback\n")
    write_file(root / "etc/machine-id", _det_uuid("machine-id", spec.name).hex + "\n", 0o444)
    for kind in ("ed25519", "ecdsa"):
        src = HOSTKEYS_DIR / spec.name / f"ssh_host_{kind}_key"
        write_file(root / f"etc/ssh/ssh_host_{kind}_key", src.read_bytes(), 0o600)
        write_file(root / f"etc/ssh/ssh_host_{kind}_key.pub", hostkeys[kind] + "\n", 0o644)
    if spec.pc_sys is not None and spec.pc_sys["root_dm"]["kind"] == "crypt":
        luks = _det_uuid("luks", spec.name)
        write_file(root / "etc/crypttab",
                   "# <target name> <source device> <key file> <options>\n"
                   f"{spec.pc_sys['root_dm']['name']} UUID={luks} none luks,discard\n")
    # 3. drift files (after the baseline: they replace/append/remove baseline files)
    for d in spec.drifts:
        drift = lab["drifts"][d]
        for f in drift.get("files") or []:
            p = _host_path(root, f["path"])
            mode = int(str(f.get("mode", "0644")), 8)
            if "append" in f:
                old = p.read_bytes() if p.exists() else b""
                if old and not old.endswith(b"\n"):
                    old += b"\n"
                write_file(p, old + f["append"].encode(), mode)
            else:
                write_file(p, f["content"], mode)
        for path in drift.get("remove") or []:
            p = _host_path(root, path)
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
    # 4. in the host's root: the lab account, the root password, owners, drift commands
    owners = lab["baseline"].get("owners") or {}
    script = [
        "set -eu",
        "export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive",
        f"id {LAB_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "
        f"--comment 'hardening audit (key only)' {LAB_USER}",
        # key-only account: the password is locked (sshd with UsePAM still accepts the key)
        f"passwd -l {LAB_USER} >/dev/null",
        f"install -d -m 0700 -o {LAB_USER} -g {LAB_USER} /home/{LAB_USER}/.ssh",
        f"printf '%s\\n' \"$LAB_PUBKEY\" > /home/{LAB_USER}/.ssh/authorized_keys",
        f"chown {LAB_USER}:{LAB_USER} /home/{LAB_USER}/.ssh/authorized_keys",
        f"chmod 0600 /home/{LAB_USER}/.ssh/authorized_keys",
        'usermod -p "$LAB_ROOT_HASH" root',
        "visudo -cq",
    ]
    script += [f"chown {shlex.quote(o)} {shlex.quote(p)}" for p, o in owners.items()
               if (_host_path(root, p)).exists()]
    for d in spec.drifts:
        script += lab["drifts"][d].get("run") or []
    env = {"LAB_PUBKEY": sec["pubkey"], "LAB_ROOT_HASH": sec["root_hash"], "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    proc = subprocess.run(["chroot", str(root), "/bin/sh", "-c", "\n".join(script)], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    (spec.state / "provision.log").write_text(proc.stdout)
    if proc.returncode != 0:
        raise LabError(f"{spec.name}: provisioning failed, see {spec.state / 'provision.log'}:\n"
                       + proc.stdout[-1500:])


# --------------------------------------------------------------------------------------------------
# Start: init script (inside the host) and start script (namespace setup, pivot_root, tini)
# --------------------------------------------------------------------------------------------------
def init_script(lab: dict[str, Any], spec: HostSpec) -> str:
    """/run/lab-init inside the host: PID 2 under tini. Prepares the volatile dirs, runs the boot
    actions, starts the daemons, then sleeps forever (tini, PID 1, reaps every daemon)."""
    lines = [
        "#!/bin/sh",
        f"# lab init of {spec.name}, generated by lab/labctl.py at every start (lives on /run, a tmpfs)",
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
        "cd /",
        "mkdir -p /run/sshd /run/lock /run/chrony /run/clamav /run/sendsigs.omit.d",
        "chmod 0755 /run/sshd; chmod 1777 /run/lock",
        "chown _chrony:_chrony /run/chrony 2>/dev/null || true",
        "chown clamav:clamav /run/clamav 2>/dev/null || true",
        "echo \"lab-init: boot actions\"",
    ]
    lines += spec.boot
    for name in spec.services:
        svc = lab["services"][name]
        cmd = svc["cmd"]
        if svc.get("foreground"):
            # setsid -f: the service is re-parented to tini, which reaps it
            lines.append(f"setsid -f {cmd} >/dev/null 2>&1 < /dev/null "
                         f"&& echo 'lab-init: started {name}' || echo 'lab-init: FAILED {name}'")
        else:
            lines.append(f"{cmd} && echo 'lab-init: started {name}' || echo 'lab-init: FAILED {name}'")
    lines += ["echo 'lab-init: ready'", "exec sleep infinity", ""]
    return "\n".join(lines)


def pc_sys_lines(spec: HostSpec, dev: str) -> list[str]:
    """Shell lines building a PC's simulated /sys on a tmpfs: firmware-attributes (Admin password
    state) and a device-mapper root whose MAJ:MIN is the overlay's (what mountinfo shows for /).
    The real per-netns sysfs is bind-mounted for class/net (Ansible facts, ip) and module."""
    assert spec.pc_sys is not None
    q = shlex.quote
    fw = spec.pc_sys["firmware"]
    dm = spec.pc_sys["root_dm"]
    if dm["kind"] == "crypt":
        dm_uuid = f"CRYPT-LUKS2-{_det_uuid('luks', spec.name).hex}-root"
    else:
        dm_uuid = "LVM-" + hashlib.sha256(f"lvm/{spec.name}".encode()).hexdigest()[:64]
    adm = f'"$S"/class/firmware-attributes/{q(fw["driver"])}/authentication/Admin'
    dmdir = '"$S"/devices/virtual/block/dm-0'
    return [
        'T="$R/run/.lab-realsys"; S="$R/sys"',
        'mkdir -p "$T"; mount -t sysfs sysfs "$T"',
        'mount -t tmpfs -o nosuid,nodev,noexec,mode=0755,size=256k sysfs "$S"',
        f"mkdir -p {adm} {dmdir}/dm {dmdir}/slaves \"$S\"/dev/block \"$S\"/dev/char \"$S\"/class/block "
        '"$S"/block "$S"/fs/cgroup "$S"/kernel "$S"/firmware',
        f"printf '%s\\n' {q(str(fw['admin']['is_enabled']))} > {adm}/is_enabled",
        f"printf '%s\\n' {q(fw['admin']['role'])} > {adm}/role",
        f"printf '%s\\n' {q(fw['admin']['mechanism'])} > {adm}/mechanism",
        f"printf '%s\\n' {q(dm_uuid)} > {dmdir}/dm/uuid",
        f"printf '%s\\n' {q(dm['name'])} > {dmdir}/dm/name",
        f"printf '0\\n' > {dmdir}/dm/suspended",
        f"printf '%s\\n' {q(dev)} > {dmdir}/dev",
        f"printf 'MAJOR=%s\\nMINOR=%s\\nDEVNAME=dm-0\\nDEVTYPE=disk\\n' {q(dev.split(':', maxsplit=1)[0])} "
        f"{q(dev.split(':')[1])} > {dmdir}/uevent",
        f"ln -s ../../devices/virtual/block/dm-0 \"$S\"/dev/block/{q(dev)}",
        'ln -s ../../devices/virtual/block/dm-0 "$S"/class/block/dm-0',
        'ln -s ../devices/virtual/block/dm-0 "$S"/block/dm-0',
        # the real, per-netns sysfs parts tools read: network devices and modules
        'for d in class/net devices/virtual/net module; do',
        '  mkdir -p "$S/$d"; mount --bind "$T/$d" "$S/$d"; mount -o remount,bind,ro "$S/$d"',
        'done',
        'umount "$T"; rmdir "$T"',
        'mount -o remount,ro,bind "$S"',
    ]


def start_script(spec: HostSpec) -> str:
    """Runs as PID 1 of the host's fresh pid/mount/uts/ipc namespaces (already inside its netns):
    builds the per-host /proc, /dev, /run, /sys, sets the hostname, pivot_roots into the overlay
    and execs tini. Uses the machine's tools until pivot_root, the host's after."""
    q = shlex.quote
    root = spec.state / "merged"
    dev = os.stat(root).st_dev
    majmin = f"{os.major(dev)}:{os.minor(dev)}"   # = what the host's mountinfo shows for "/"
    lines = [
        "#!/bin/sh",
        f"# start of lab host {spec.name}, generated by lab/labctl.py",
        "set -eu",
        f"R={q(str(root))}",
        # unshare --propagation private already made every mount private: nothing leaks back out
        'mount -t proc -o nosuid,nodev,noexec proc "$R/proc"',
        # kernel-wide sysctls belong to the real machine: /proc/sys read-only except net (per netns)
        'mount --bind "$R/proc/sys" "$R/proc/sys"',
        'mount --bind "$R/proc/sys/net" "$R/proc/sys/net"',
        'mount -o remount,bind,ro "$R/proc/sys"',
        'if [ -e "$R/proc/sysrq-trigger" ]; then',
        '  mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"',
        '  mount -o remount,bind,ro "$R/proc/sysrq-trigger"',
        'fi',
        # per-host /dev: own devpts instance (terminals for sshd), own /dev/log (rsyslog's socket)
        'mount -t tmpfs -o nosuid,noexec,mode=0755,size=512k dev "$R/dev"',
        'cd "$R/dev"',
        "mknod -m 666 null c 1 3; mknod -m 666 zero c 1 5; mknod -m 666 full c 1 7",
        "mknod -m 666 random c 1 8; mknod -m 666 urandom c 1 9; mknod -m 666 tty c 5 0",
        "mkdir -m 0755 pts; mkdir -m 1777 shm",
        "mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts pts",
        "ln -s pts/ptmx ptmx; ln -s /proc/self/fd fd",
        "ln -s /proc/self/fd/0 stdin; ln -s /proc/self/fd/1 stdout; ln -s /proc/self/fd/2 stderr",
        "mount -t tmpfs -o nosuid,nodev,mode=1777,size=4m shm shm",
        "cd /",
        # per-host /run (pidfiles, /run/sshd) and the init script on it
        'mount -t tmpfs -o nosuid,nodev,mode=0755,size=16m run "$R/run"',
        f'cp {q(str(spec.state / "init.sh"))} "$R/run/lab-init"; chmod 0755 "$R/run/lab-init"',
    ]
    if spec.pc_sys is not None:
        lines += pc_sys_lines(spec, majmin)
    else:
        lines.append('mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"')
    if spec.cgroup:
        # read-only: a daemon may read its cgroup (systemd-journald refuses to start without it), never change it
        lines.append('mount -t cgroup2 -o ro,nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"')
    lines += [
        f"hostname {q(spec.name)}",
        'cd "$R"',
        "pivot_root . mnt",
        "cd /",
        "umount -l /mnt",
        "exec /usr/bin/tini -g -- /run/lab-init",
        "",
    ]
    return "\n".join(lines)


def start_host(spec: HostSpec) -> subprocess.Popen[bytes]:
    """unshare's child becomes PID 1 of the new pid ns (start.sh, then tini). --kill-child: if the
    unshare process is killed, the whole host dies with it."""
    console = open(spec.state / "console.log", "wb")
    p = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{spec.netns}", "--",
         "unshare", "--mount", "--pid", "--uts", "--ipc", "--fork", "--kill-child", "--propagation", "private",
         "/bin/sh", str(spec.state / "start.sh")],
        stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
        close_fds=True)
    console.close()
    return p


def console_tail(spec: HostSpec, n: int = 15) -> str:
    try:
        return "\n".join((spec.state / "console.log").read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------------
# Simulated network devices (lab/netsim): routers, switches, firewalls speaking real SSH
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class DeviceSpec:
    """One simulated network device: an inventory host listed in lab.yaml `netsim.devices`."""
    name: str
    ip: str
    platform: str
    device_class: str
    personality: str                  # module lab/netsim/<personality>.py
    credentials: str                  # the inventory's data.credentials: the vault entry labctl fills
    username: str
    enable: bool                      # the platform has an enable/administrator secret
    config: Path                      # initial configuration
    params: dict[str, Any]
    drifts: list[str]

    @property
    def state(self) -> Path:
        return NETSIM_DIR / "devices" / self.name


def build_device_specs(lab: dict[str, Any], inv_dir: Path) -> list[DeviceSpec]:
    """The simulated devices of the demo inventory: hosts named in lab.yaml `netsim.devices`, their address,
    platform, class and credentials entry from the inventory, the rest from lab.yaml."""
    netsim = lab.get("netsim") or {}
    devices = netsim.get("devices") or {}
    if not devices or inv_dir.resolve() != DEFAULT_INVENTORY.resolve():
        return []
    inv = _Inventory(inv_dir)
    personalities = netsim.get("personalities") or {}
    specs = []
    for name, given in devices.items():
        entry = given or {}
        if name not in inv.hosts:
            raise LabError(f"lab.yaml netsim.devices.{name}: not a host of {inv_dir}/hosts.yaml")
        ip = str((inv.hosts[name] or {}).get("hostname"))
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise LabError(f"{name}: hostname {ip!r} is not an IP") from None
        if address not in SUBNET or ip == BRIDGE_ADDR:
            raise LabError(f"{name}: {ip} is not a lab address")
        platform = str(inv.platform(name) or "")
        personality = entry.get("personality") or personalities.get(platform)
        if not personality or not (NETSIM_CODE / f"{personality}.py").is_file():
            raise LabError(f"lab.yaml netsim.devices.{name}: no simulator personality for platform {platform!r} "
                           f"(netsim.personalities, lab/netsim/<module>.py)")
        config = NETSIM_CODE / "devices" / str(entry.get("config") or f"{name}.cfg")
        if not config.is_file():
            raise LabError(f"lab.yaml netsim.devices.{name}: initial configuration {config} not found")
        credentials = inv.get(name, "credentials")
        if not credentials or credentials == "lab":
            raise LabError(f"{name}: data.credentials must name the device's own vault entry (not `lab`)")
        specs.append(DeviceSpec(
            name=name, ip=ip, platform=platform, device_class=str(inv.get(name, "device_class")),
            personality=str(personality), credentials=str(credentials), username=str(entry.get("username", "netops")),
            enable=bool(entry.get("enable_secret", True)), config=config, params=dict(entry.get("params") or {}),
            drifts=list((lab.get("hosts") or {}).get(name) or [])))
    return specs


def generated_credentials(file: Path, wanted: list[tuple[str, str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    """Vault entries of simulated hosts, generated once per entry name and kept in the 0600 `file`: `wanted` is
    (entry name, username, {secret field: value prefix}); an entry whose username changed or that lacks a field
    is generated again (password prefix under "password")."""
    try:
        saved = json.loads(file.read_text()) if file.exists() else {}
    except ValueError:
        saved = {}
    changed = False
    out: dict[str, dict[str, str]] = {}
    for name, username, fields in wanted:
        entry = saved.get(name) or {}
        if entry.get("username") != username or any(not entry.get(field) for field in fields):
            entry = {"username": username, **{field: prefix + secrets.token_urlsafe(12)
                                              for field, prefix in fields.items()}}
            saved[name] = entry
            changed = True
        out[name] = entry
    if changed or not file.exists():
        write_file(file, json.dumps(saved, indent=1), 0o600)
    return out


def device_credentials(devices: list[DeviceSpec]) -> dict[str, dict[str, str]]:
    """Vault entries of the simulated devices (an enable/administrator secret where the device has one)."""
    return generated_credentials(NETSIM_SECRETS, [
        (d.credentials, d.username, {"password": "Pw-", **({"enable_secret": "En-"} if d.enable else {})})
        for d in devices])


def netns_down(namespace: str, veth: str) -> None:
    """Stop everything in a simulator's netns and release the netns and its veth (state files are kept)."""
    if Path(f"/run/netns/{namespace}").exists():
        kill_netns_processes({namespace})
        run(["ip", "netns", "del", namespace], check=False)
    if Path(f"/sys/class/net/{veth}").exists():
        run(["ip", "link", "del", veth], check=False)


def netsim_pids() -> list[int]:
    return netns_pids().get(NETSIM_NS, [])


def netsim_down() -> None:
    """Stop the simulators and release their netns/veth (device configuration state is kept)."""
    netns_down(NETSIM_NS, NETSIM_VETH)


def netsim_fingerprint(spec: dict[str, Any]) -> str:
    code = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(NETSIM_CODE.glob("*.py"))}
    return sha256_json({"spec": spec, "code": code})


def netsim_up(devices: list[DeviceSpec], creds: dict[str, dict[str, str]], timeout: float) -> dict[str, str]:
    """Start (or keep) the simulator process in its netns; device name -> state or error text.
    A device whose initial configuration changed starts from it again (like a re-provisioned host)."""
    NETSIM_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(NETSIM_DIR, 0o700)
    entries = []
    for d in devices:
        ensure_hostkeys(d.name)
        cred = creds[d.credentials]
        entries.append({
            "name": d.name, "personality": d.personality, "address": d.ip, "port": 22,
            "username": cred["username"], "password": cred["password"], "enable_secret": cred.get("enable_secret"),
            "state_dir": str(d.state), "initial_config": str(d.config),
            "host_keys": [str(HOSTKEYS_DIR / d.name / f"ssh_host_{kind}_key") for kind in ("ed25519", "ecdsa")],
            "params": {"device_class": d.device_class, **d.params}})
    spec = {"devices": entries}
    fingerprint = netsim_fingerprint(spec)
    fp_file = NETSIM_DIR / "running.fingerprint"
    if netsim_pids() and fp_file.exists() and fp_file.read_text().strip() == fingerprint:
        return {d.name: "running" for d in devices}
    netsim_down()
    states: dict[str, str] = {}
    for d in devices:
        digest = hashlib.sha256(d.config.read_bytes()).hexdigest()
        marker = d.state / "initial.sha256"
        if not marker.exists() or marker.read_text().strip() != digest:
            if d.state.exists():
                shutil.rmtree(d.state)
            d.state.mkdir(parents=True)
            marker.write_text(digest + "\n")
            states[d.name] = "configured+started"
        else:
            states[d.name] = "started"
    spec_file = NETSIM_DIR / "spec.json"
    write_file(spec_file, json.dumps(spec, indent=1), 0o600)
    run(["ip", "netns", "add", NETSIM_NS])
    run(["ip", "link", "add", NETSIM_VETH, "type", "veth", "peer", "name", "eth0", "netns", NETSIM_NS])
    run(["ip", "link", "set", NETSIM_VETH, "master", BRIDGE, "up"])
    # A fixed MAC: the root namespace's neighbour entries stay right across restarts (a new random MAC left
    # them stale for seconds).
    run(["ip", "-n", NETSIM_NS, "-b", "-"], input="link set eth0 address 02:68:6c:61:62:01\n" + "".join(
        f"addr add {d.ip}/{SUBNET.prefixlen} dev eth0\n" for d in devices) + "link set lo up\nlink set eth0 up\n")
    for d in devices:
        run(["ip", "neigh", "flush", "to", d.ip], check=False)
    logf = open(NETSIM_DIR / "netsim.log", "ab")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(REPO_DIR)}
    subprocess.Popen(["nsenter", f"--net=/run/netns/{NETSIM_NS}", "--", sys.executable, "-m", "lab.netsim",
                      str(spec_file)], cwd=REPO_DIR, env=env, stdin=subprocess.DEVNULL, stdout=logf,
                     stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    logf.close()
    started = time.monotonic()
    deadline = started + timeout
    pending = list(devices)
    while pending and time.monotonic() < deadline:
        pending = [d for d in pending if not ssh_banner(d.ip, 0.3)]
        if pending:
            # nsenter joins the namespace a moment after Popen returns (longer on a loaded machine): only a
            # simulator that has had time to start and is gone is a failure
            if time.monotonic() - started > 10 and not netsim_pids():
                break
            time.sleep(0.1)
    for d in pending:
        tail = "\n".join((NETSIM_DIR / "netsim.log").read_text(errors="replace").splitlines()[-15:])
        states[d.name] = f"FAILED: simulator not answering on {d.ip}:22\n{tail}"
    if not pending:
        fp_file.write_text(fingerprint + "\n")
    return states


# --------------------------------------------------------------------------------------------------
# Simulated Windows hosts (lab/winsim): WS-Management over HTTP (5985) and HTTPS (5986)
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class WinHostSpec:
    """One simulated Windows host: lab.yaml `winsim.hosts.<name>`, its address/class/credentials entry from the
    default inventory (or, until the lead enables them there, from lab.yaml `winsim.inventory`)."""
    name: str
    ip: str
    device_class: str
    credentials: str
    username: str
    host_file: Path
    drifts: list[str]

    @property
    def state(self) -> Path:
        return WINSIM_DIR / "hosts" / self.name


def build_winsim_specs(lab: dict[str, Any], inv_dir: Path) -> list[WinHostSpec]:
    winsim = lab.get("winsim") or {}
    hosts = winsim.get("hosts") or {}
    if not hosts or inv_dir.resolve() != DEFAULT_INVENTORY.resolve():
        return []
    inv = _Inventory(inv_dir)
    pending: dict[str, Any] = {}
    if winsim.get("inventory"):
        pending = (yaml.safe_load((REPO_DIR / str(winsim["inventory"])).read_text()) or {}).get("hosts") or {}
    specs = []
    for name, given in hosts.items():
        entry = given or {}
        if name in inv.hosts:
            h = inv.hosts[name] or {}
            device_class, credentials = inv.get(name, "device_class"), inv.get(name, "credentials")
        elif name in pending:
            h = pending[name] or {}
            data = h.get("data") or {}
            device_class, credentials = data.get("device_class"), data.get("credentials")
            if device_class is None:
                groups = (yaml.safe_load((REPO_DIR / str(winsim["inventory"])).read_text()) or {}).get("groups") or {}
                for g in h.get("groups") or []:
                    device_class = device_class or ((groups.get(g) or {}).get("data") or {}).get("device_class")
        else:
            raise LabError(f"lab.yaml winsim.hosts.{name}: not a host of {inv_dir}/hosts.yaml nor of "
                           f"winsim.inventory")
        ip = str(h.get("hostname"))
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise LabError(f"{name}: hostname {ip!r} is not an IP") from None
        if address not in SUBNET or ip == BRIDGE_ADDR:
            raise LabError(f"{name}: {ip} is not a lab address")
        host_file = WINSIM_CODE / "hosts" / str(entry.get("host_file") or f"{name}.yaml")
        if not host_file.is_file():
            raise LabError(f"lab.yaml winsim.hosts.{name}: host file {host_file} not found")
        if not credentials or credentials == "lab":
            raise LabError(f"{name}: data.credentials must name the host's own vault entry (not `lab`)")
        specs.append(WinHostSpec(name=name, ip=ip, device_class=str(device_class), credentials=str(credentials),
                                 username=str(entry.get("username", "hardening")), host_file=host_file,
                                 drifts=list((lab.get("hosts") or {}).get(name) or [])))
    return specs


def winsim_credentials(hosts: list[WinHostSpec]) -> dict[str, dict[str, str]]:
    """Vault entries of the simulated Windows hosts (username, password; a PC also a bios_password for the
    vendor BIOS setters)."""
    return generated_credentials(WINSIM_SECRETS, [
        (h.credentials, h.username,
         {"password": "Win-", **({"bios_password": "Bios-"} if h.device_class == "windows_pc" else {})})
        for h in hosts])


def winsim_pids() -> list[int]:
    return netns_pids().get(WINSIM_NS, [])


def winsim_down() -> None:
    """Stop the Windows simulator and release its netns/veth (host state is kept)."""
    netns_down(WINSIM_NS, WINSIM_VETH)


def tcp_open(ip: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def winsim_up(hosts: list[WinHostSpec], creds: dict[str, dict[str, str]], timeout: float) -> dict[str, str]:
    """Start (or keep) the Windows simulator in its netns; host name -> state or error text. A host whose file
    changed starts from it again (the simulator re-seeds its state.json)."""
    sys.path.insert(0, str(REPO_DIR))
    from lab.winsim import pki

    WINSIM_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(WINSIM_DIR, 0o700)
    cert, key = pki.issue_server_cert(WINSIM_DIR / "pki", [h.name for h in hosts], [h.ip for h in hosts])
    entries = [{"name": h.name, "address": h.ip, "http_port": 5985, "https_port": 5986,
                "username": creds[h.credentials]["username"], "password": creds[h.credentials]["password"],
                "host_file": str(h.host_file), "state_dir": str(h.state)} for h in hosts]
    spec = {"cert": str(cert), "key": str(key), "hosts": entries}
    code = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(WINSIM_CODE.glob("*.py"))}
    files = {h.name: hashlib.sha256(h.host_file.read_bytes()).hexdigest() for h in hosts}
    bases = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((WINSIM_CODE / "hosts").glob("_*"))}
    table = REPO_DIR / "src" / "hardening" / "platforms" / "windows" / "platform.yaml"   # the command table it checks
    bases["platform.yaml"] = hashlib.sha256(table.read_bytes()).hexdigest() if table.exists() else ""
    fingerprint = sha256_json({"spec": spec, "code": code, "files": files, "bases": bases})
    fp_file = WINSIM_DIR / "running.fingerprint"
    if winsim_pids() and fp_file.exists() and fp_file.read_text().strip() == fingerprint:
        return {h.name: "running" for h in hosts}
    winsim_down()
    spec_file = WINSIM_DIR / "spec.json"
    write_file(spec_file, json.dumps(spec, indent=1), 0o600)
    run(["ip", "netns", "add", WINSIM_NS])
    run(["ip", "link", "add", WINSIM_VETH, "type", "veth", "peer", "name", "eth0", "netns", WINSIM_NS])
    run(["ip", "link", "set", WINSIM_VETH, "master", BRIDGE, "up"])
    run(["ip", "-n", WINSIM_NS, "-b", "-"], input="link set eth0 address 02:68:6c:61:62:02\n" + "".join(
        f"addr add {h.ip}/{SUBNET.prefixlen} dev eth0\n" for h in hosts) + "link set lo up\nlink set eth0 up\n")
    for h in hosts:
        run(["ip", "neigh", "flush", "to", h.ip], check=False)
    logf = open(WINSIM_DIR / "winsim.log", "ab")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(REPO_DIR)}
    subprocess.Popen(["nsenter", f"--net=/run/netns/{WINSIM_NS}", "--", sys.executable, "-m", "lab.winsim",
                      str(spec_file)], cwd=REPO_DIR, env=env, stdin=subprocess.DEVNULL, stdout=logf,
                     stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    logf.close()
    started = time.monotonic()
    pending = list(hosts)
    while pending and time.monotonic() < started + timeout:
        pending = [h for h in pending if not (tcp_open(h.ip, 5985) and tcp_open(h.ip, 5986))]
        if pending:
            if time.monotonic() - started > 10 and not winsim_pids():
                break
            time.sleep(0.1)
    states = {h.name: "started" for h in hosts}
    for h in pending:
        tail = "\n".join((WINSIM_DIR / "winsim.log").read_text(errors="replace").splitlines()[-15:])
        states[h.name] = f"FAILED: simulator not answering on {h.ip}:5985/5986\n{tail}"
    if not pending:
        fp_file.write_text(fingerprint + "\n")
    return states


# --------------------------------------------------------------------------------------------------
# Simulated multifunction printers (lab/mfpsim): snmpsim agents, web admin (443/80), risky-service listeners
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class MfpSpec:
    """One simulated printer: lab.yaml `mfpsim.hosts.<name>`, its address and credentials entry from the default
    inventory (the lab-only fault hosts from lab.yaml `mfpsim.inventory`)."""
    name: str
    ip: str
    credentials: str
    v3_user: str
    snmp_version: str                 # "3" (v3 keys in the vault) or "2c"/"1" (a community in the vault)
    host_file: Path
    drifts: list[str]


def build_mfpsim_specs(lab: dict[str, Any], inv_dir: Path) -> list[MfpSpec]:
    mfpsim = lab.get("mfpsim") or {}
    hosts = mfpsim.get("hosts") or {}
    if not hosts or inv_dir.resolve() != DEFAULT_INVENTORY.resolve():
        return []
    inv = _Inventory(inv_dir)
    extra: dict[str, Any] = {}
    if mfpsim.get("inventory"):   # pending demo printers (hosts, groups) and the lab-only fault printers
        pending = yaml.safe_load((REPO_DIR / str(mfpsim["inventory"])).read_text()) or {}
        extra = {**(pending.get("hosts") or {}), **(pending.get("lab_only") or {})}
        inv.groups = {**(pending.get("groups") or {}), **inv.groups}
    specs = []
    for name, given in hosts.items():
        entry = given or {}
        if name not in inv.hosts and name not in extra:
            raise LabError(f"lab.yaml mfpsim.hosts.{name}: not a host of {inv_dir}/hosts.yaml nor of mfpsim.inventory")
        h = (inv.hosts.get(name) if name in inv.hosts else extra[name]) or {}
        chain = [h, *inv._group_chain(h.get("groups") or [], set()), inv.defaults]
        data: dict[str, Any] = {}
        snmp: dict[str, Any] = {}
        for layer in reversed(chain):
            data.update(layer.get("data") or {})
            snmp.update((((layer.get("connection_options") or {}).get("snmp") or {}).get("extras")) or {})
        ip = str(h.get("hostname"))
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise LabError(f"{name}: hostname {ip!r} is not an IP") from None
        if address not in SUBNET or ip == BRIDGE_ADDR:
            raise LabError(f"{name}: {ip} is not a lab address")
        host_file = MFPSIM_CODE / "hosts" / str(entry.get("host_file") or f"{name}.yaml")
        if not host_file.is_file():
            raise LabError(f"lab.yaml mfpsim.hosts.{name}: host file {host_file} not found")
        credentials = data.get("credentials")
        if not credentials or credentials == "lab":
            raise LabError(f"{name}: data.credentials must name the printer's own vault entry (not `lab`)")
        specs.append(MfpSpec(name=name, ip=ip, credentials=str(credentials),
                             v3_user=str(snmp.get("v3_user") or "hardening-audit"),
                             snmp_version=str(snmp.get("version") or "3"), host_file=host_file,
                             drifts=list((lab.get("hosts") or {}).get(name) or [])))
    return specs


def mfpsim_credentials(hosts: list[MfpSpec]) -> dict[str, dict[str, str]]:
    """Vault entries of the simulated printers: the web administrator's own password (username = the vendor's
    administrator account) and the SNMPv3 keys, or a v2c community for a printer managed over v2c."""
    sys.path.insert(0, str(REPO_DIR))
    from lab.mfpsim import model

    profiles = model.load_profiles()
    wanted = []
    for h in hosts:
        vendor = (yaml.safe_load(h.host_file.read_text()) or {}).get("vendor")
        accounts = (profiles.get(vendor) or {}).get("web_admin", {}).get("default_accounts") or [{"account": "admin"}]
        fields = {"password": "Web-"}
        fields.update({"snmp_auth_key": "Auth-", "snmp_priv_key": "Priv-"} if h.snmp_version == "3"
                      else {"snmp_community": "Comm-"})
        wanted.append((h.credentials, str(accounts[0]["account"]), fields))
    return generated_credentials(MFPSIM_SECRETS, wanted)


def mfpsim_pids() -> list[int]:
    return netns_pids().get(MFPSIM_NS, [])


def mfpsim_down() -> None:
    """Stop the printers' agents and web simulator and release their netns/veth (attempts.json is kept)."""
    netns_down(MFPSIM_NS, MFPSIM_VETH)


def udp_bound(namespace: str) -> set[str]:
    """"address:port" of the UDP sockets bound inside a netns."""
    out = run(["ip", "netns", "exec", namespace, "ss", "-Hlun"], check=False).stdout
    return {line.split()[3] for line in out.splitlines() if len(line.split()) > 3}


def _write_if_changed(path: Path, text: str, mode: int = 0o644) -> None:
    """Keep the mtime of an unchanged data file: snmpsim's index cache stays valid (a 10x faster start)."""
    if not path.exists() or path.read_text() != text:
        write_file(path, text, mode)


def mfpsim_up(hosts: list[MfpSpec], creds: dict[str, dict[str, str]], timeout: float) -> dict[str, str]:
    """Generate the agents' data from the host states and the vendor profiles, start (or keep) the snmpsim
    responder and the web simulator in netns hlab-mfpsim; host name -> state or error text."""
    sys.path.insert(0, str(REPO_DIR))
    from lab.mfpsim import model
    from lab.winsim import pki

    MFPSIM_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(MFPSIM_DIR, 0o700)
    profiles = model.load_profiles()
    try:
        states = {h.name: model.load_state(h.host_file, profiles) for h in hosts}
    except model.StateError as e:
        raise LabError(str(e)) from None
    cert, key = pki.issue_server_cert(MFPSIM_DIR / "pki", [h.name for h in hosts], [h.ip for h in hosts])
    data_root = MFPSIM_DIR / "data"
    engine_args: list[str] = []
    web_hosts = []
    records: dict[str, str] = {}
    for h in hosts:
        st, secret = states[h.name], creds[h.credentials]
        try:
            text = "\n".join(model.snmprec_lines(st, profiles)) + "\n"
            names = model.data_files(st, secret)
            args = model.engine_args(st, h.ip, data_root / h.name, secret, h.v3_user)
        except model.StateError as e:
            raise LabError(f"{h.host_file}: {e}") from None
        records[h.name] = text
        d = data_root / h.name
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.snmprec"):
            if old.stem not in names:
                old.unlink()
        for n in names:
            _write_if_changed(d / f"{n}.snmprec", text, 0o600)
        engine_args += args
        passwords = {a["account"]: (str(a.get("password") or "") if a["account"] in st.default_password_kept
                                    else secret["password"]) for a in model.vendor_accounts(st, profiles)}
        web_hosts.append({"name": h.name, "address": h.ip, "vendor": st.vendor, "model": st.model,
                          "firmware": st.firmware, "web": (profiles.get(st.vendor or "") or {}).get("web_admin") or {},
                          "passwords": passwords, "https": st.https, "http": st.http, "http_plain": st.http_plain,
                          "tls_versions": st.tls_versions, "services": st.services})
    # snmpsim's own writecache/error modules and ours, nothing else (redis/sql would only log load errors)
    vdir = MFPSIM_DIR / "variation"
    vdir.mkdir(exist_ok=True)
    import snmpsim

    wanted = {"writecache.py": Path(snmpsim.__file__).parent / "variation" / "writecache.py",
              "error.py": Path(snmpsim.__file__).parent / "variation" / "error.py",
              "mfpclock.py": MFPSIM_CODE / "variation" / "mfpclock.py"}
    for f in vdir.iterdir():
        if f.name not in wanted:
            f.unlink()
    for fname, src in wanted.items():
        _write_if_changed(vdir / fname, src.read_text())
    args_file = MFPSIM_DIR / "snmpsim.args"        # keys: 0600 and off the command line
    write_file(args_file, "\n".join(engine_args) + "\n", 0o600)
    # snmpsim's command responder, MIB modules compiled once per process (lab/mfpsim/responder.py: 4.5 s instead
    # of 20 s for 15 engines)
    responder = [sys.executable, "-m", "lab.mfpsim.responder", "--log-level=error",
                 f"--cache-dir={MFPSIM_DIR / 'cache'}", f"--variation-modules-dir={vdir}",
                 *(f"--variation-module-options=writecache={model.writecache_alias(h.name)}:" for h in hosts),
                 f"--args-from-file={args_file}"]
    spec = {"cert": str(cert), "key": str(key), "attempts_file": str(MFPSIM_ATTEMPTS), "hosts": web_hosts}
    code = {str(p.relative_to(MFPSIM_CODE)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(MFPSIM_CODE.rglob("*.py"))}
    fingerprint = sha256_json({"spec": spec, "engines": engine_args, "responder": responder, "records": records,
                               "code": code})
    fp_file = MFPSIM_DIR / "running.fingerprint"
    if mfpsim_pids() and fp_file.exists() and fp_file.read_text().strip() == fingerprint:
        return {h.name: "running" for h in hosts}
    mfpsim_down()
    spec_file = MFPSIM_DIR / "spec.json"
    write_file(spec_file, json.dumps(spec, indent=1, ensure_ascii=False), 0o600)
    run(["ip", "netns", "add", MFPSIM_NS])
    run(["ip", "link", "add", MFPSIM_VETH, "type", "veth", "peer", "name", "eth0", "netns", MFPSIM_NS])
    run(["ip", "link", "set", MFPSIM_VETH, "master", BRIDGE, "up"])
    run(["ip", "-n", MFPSIM_NS, "-b", "-"], input="link set eth0 address 02:68:6c:61:62:03\n" + "".join(
        f"addr add {h.ip}/{SUBNET.prefixlen} dev eth0\n" for h in hosts) + "link set lo up\nlink set eth0 up\n")
    for h in hosts:
        run(["ip", "neigh", "flush", "to", h.ip], check=False)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(REPO_DIR),
           "HOME": str(MFPSIM_DIR), "SNMPSIM_ALLOW_ROOT": "true"}
    nsenter = ["nsenter", f"--net=/run/netns/{MFPSIM_NS}", "--"]
    started = time.monotonic()
    for cmd, logname in ((responder, "snmpsim.log"), ([sys.executable, "-m", "lab.mfpsim", str(spec_file)],
                                                     "web.log")):
        if cmd is responder and not engine_args:
            continue
        with open(MFPSIM_DIR / logname, "ab") as logf:
            subprocess.Popen([*nsenter, *cmd], cwd=REPO_DIR, env=env, stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    want_udp = {f"{h.ip}:161" for h in hosts if states[h.name].snmp_agent}
    want_tcp = [(h.ip, 443 if states[h.name].https else 80) for h in hosts
                if states[h.name].https or states[h.name].http]
    pending_udp, pending_tcp = set(want_udp), list(want_tcp)
    while (pending_udp or pending_tcp) and time.monotonic() < started + timeout:
        pending_udp -= udp_bound(MFPSIM_NS) if pending_udp else set()
        pending_tcp = [(ip, port) for ip, port in pending_tcp if not tcp_open(ip, port)]
        if pending_udp or pending_tcp:
            if time.monotonic() - started > 10 and len(mfpsim_pids()) < 2:
                break
            time.sleep(0.1)
    ready = time.monotonic() - started
    out = {h.name: f"started ({ready:.1f}s)" for h in hosts}
    for h in hosts:
        missing = ["udp/161" for a in pending_udp if a == f"{h.ip}:161"]
        missing += [f"tcp/{port}" for ip, port in pending_tcp if ip == h.ip]
        if missing:
            tail = ""
            for logname in ("snmpsim.log", "web.log"):
                lines = (MFPSIM_DIR / logname).read_text(errors="replace").splitlines()[-8:]
                tail += f"\n{logname}:\n" + "\n".join(lines)
            out[h.name] = f"FAILED: {', '.join(missing)} not answering on {h.ip}{tail}"
    if not pending_udp and not pending_tcp:
        fp_file.write_text(fingerprint + "\n")
    return out


# --------------------------------------------------------------------------------------------------
# Teardown
# --------------------------------------------------------------------------------------------------
def kill_netns_processes(only: set[str] | None = None, timeout: float = 10.0) -> None:
    """SIGKILL every process inside the lab netns (by pid), wait until they are gone."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for ns, ps in netns_pids().items()
                if only is None or ns in only for p in ps]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise LabError(f"processes still alive after SIGKILL: {pids[:10]}")
        time.sleep(0.05)


def host_down(spec: HostSpec) -> None:
    """Stop one host and release its netns/veth/overlay: the leftovers of a host that crashed or
    was half started. Cheap when there is nothing to clean (the common case at `up`)."""
    if Path(f"/run/netns/{spec.netns}").exists():
        kill_netns_processes({spec.netns})
        run(["ip", "netns", "del", spec.netns], check=False)
    if Path(f"/sys/class/net/{spec.veth}").exists():
        run(["ip", "link", "del", spec.veth], check=False)
    if overlay_mounted(spec):
        _unmount_under(spec.state / "merged")


# --------------------------------------------------------------------------------------------------
# Time: the first audit must see the chrony clients synchronised
# --------------------------------------------------------------------------------------------------
SYNC_TIMEOUT = 60.0
_LEAP_NORMAL = re.compile(r"^Leap status\s*:\s*Normal\s*$", re.M)
_REF_NONE = re.compile(r"^Reference ID\s*:\s*00000000\b", re.M)


def drift_breaks(lab: dict[str, Any], drifts: list[str], requirement: str) -> bool:
    """Whether one of the planted drifts is meant to make `requirement` fail (lab.yaml requirements)."""
    return any(requirement in (lab["drifts"][d].get("requirements") or []) for d in drifts)


def sync_targets(lab: dict[str, Any], specs: list[HostSpec]) -> list[HostSpec]:
    """Demo hosts whose chronyd should be synchronised: chronyd runs there and no planted drift
    unsynchronises it on purpose (a drift listing TIME-SYNC, e.g. ntp-wrong-server)."""
    return [s for s in specs if s.profile == "demo" and "chronyd" in s.services
            and not drift_breaks(lab, s.drifts, "TIME-SYNC")]


def chrony_synced(pid: int) -> bool:
    """`chronyc -n tracking` inside the host (pid 0: not running): leap status Normal with a
    reference (not 00000000)."""
    if not pid:
        return False
    try:
        out = subprocess.run(["nsenter", "-t", str(pid), "-a", "-r", "-w", "--", "/usr/bin/env", "-i",
                              "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "chronyc", "-n", "tracking"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=5, check=False).stdout
    except subprocess.TimeoutExpired:
        return False
    return bool(_LEAP_NORMAL.search(out)) and not _REF_NONE.search(out)


def wait_time_synced(lab: dict[str, Any], specs: list[HostSpec], timeout: float = SYNC_TIMEOUT) -> list[str]:
    """Wait (at most `timeout` s) until chrony has synchronised every host of sync_targets();
    returns the hosts still unsynchronised (empty: all synchronised)."""
    deadline = time.monotonic() + timeout
    pending = [s.name for s in sync_targets(lab, specs)]
    while pending:
        pids = running_hosts()
        with ThreadPoolExecutor(max_workers=16) as ex:
            synced = list(ex.map(chrony_synced, [pids.get(n, 0) for n in pending]))
        pending = [n for n, ok in zip(pending, synced) if not ok]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    return pending


def report_time_sync(lab: dict[str, Any], specs: list[HostSpec], timeout: float) -> bool:
    """Wait for chrony (see wait_time_synced) and say what happened; False when it gave up."""
    t0 = time.monotonic()
    targets = sync_targets(lab, specs)
    pending = wait_time_synced(lab, specs, timeout)
    if pending:
        log(f"time: chrony still not synchronised after {timeout:.0f}s on {', '.join(pending)}: an audit now "
            "would report TIME-SYNC fail there although nothing is planted (check ntp01 and "
            "`labctl exec HOST -- chronyc -n sources`)")
        return False
    log(f"time: chrony synchronised on {len(targets)} host(s) in {time.monotonic() - t0:.1f}s")
    return True


# --------------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------------
def _lock() -> Any:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    f = open(LOCK_FILE, "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("another labctl is running; waiting for it ...")
        fcntl.flock(f, fcntl.LOCK_EX)
    return f


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*map(str, r)) for r in rows])


def saved_hosts() -> list[dict[str, Any]]:
    out = []
    if HOSTS_DIR.exists():
        for d in sorted(HOSTS_DIR.iterdir()):
            try:
                out.append(json.loads((d / "host.json").read_text()))
            except (OSError, ValueError):
                continue
    return out


def write_client_files(devices: list[DeviceSpec] | None = None) -> None:
    """known_hosts for every lab host with state and every simulated network device (keys are stable per
    name) and an ssh_config."""
    lines = []
    for h in saved_hosts() + [{"name": d.name, "ip": d.ip} for d in devices or []]:
        for kind in ("ed25519", "ecdsa"):
            pub = HOSTKEYS_DIR / h["name"] / f"ssh_host_{kind}_key.pub"
            if pub.exists():
                keytype, key = pub.read_text().split()[:2]
                lines.append(f"{h['ip']},{h['name']} {keytype} {key}")
    write_file(KNOWN_HOSTS, "\n".join(lines) + "\n", 0o644)
    write_file(SSH_CONFIG, "\n".join([
        "# ssh -F /var/lib/hardening-lab/ssh/config 10.203.0.20  (generated by lab/labctl.py)",
        "Host 10.203.*.*",
        f"  User {LAB_USER}",
        f"  IdentityFile {CLIENT_KEY}",
        "  IdentitiesOnly yes",
        f"  UserKnownHostsFile {KNOWN_HOSTS}",
        "  StrictHostKeyChecking yes",
        "  ControlMaster auto",
        "  ControlPath /tmp/hlab-ssh-%C",
        "  ControlPersist 60s",
        "",
    ]), 0o644)


def cmd_up(args: argparse.Namespace) -> int:
    require_root()
    t0 = time.monotonic()
    inv_dir = Path(args.inventory).resolve() if args.inventory else DEFAULT_INVENTORY
    lab = load_lab()
    specs, notes = build_specs(lab, inv_dir)
    devices = build_device_specs(lab, inv_dir)
    windows = build_winsim_specs(lab, inv_dir)
    printers = build_mfpsim_specs(lab, inv_dir)
    simulated = {d.name for d in devices} | {w.name for w in windows} | {m.name for m in printers}
    for n in notes:
        if n.split(":", 1)[0] not in simulated:
            log(f"note: {n}")
    if not specs:
        raise LabError(f"no lab hosts in {inv_dir}")
    _lockf = _lock()
    _import_vault()                      # fail early and clearly when ansible-core is missing
    ensure_host_packages()               # ssh-keygen/openssl are needed for the secrets
    device_creds = device_credentials(devices)
    windows_creds = winsim_credentials(windows)
    printer_creds = mfpsim_credentials(printers)
    sec = ensure_secrets({**device_creds, **windows_creds, **printer_creds})
    if not base_is_current():
        log("base missing or outdated: building it first")
        cmd_base()
    running = running_hosts()
    # name/IP clashes with hosts from other inventories that are already part of the lab
    by_ip = {h["ip"]: h["name"] for h in saved_hosts() if h["name"] in running}
    seen: dict[str, str] = {}
    for d in [*devices, *windows, *printers]:
        if seen.get(d.ip, d.name) != d.name:
            raise LabError(f"IP {d.ip} is claimed by {d.name} and {seen[d.ip]}")
        seen[d.ip] = d.name
    for s in specs:
        if seen.get(s.ip, s.name) != s.name or by_ip.get(s.ip, s.name) != s.name:
            raise LabError(f"IP {s.ip} is claimed by {s.name} and {seen.get(s.ip) or by_ip.get(s.ip)}")
        seen[s.ip] = s.name
    ensure_bridge()
    t_prep = time.monotonic()

    # hostkeys first (CPU-bound ssh-keygen, cached per name)
    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        hostkeys = dict(zip([s.name for s in specs], ex.map(lambda s: ensure_hostkeys(s.name), specs)))

    results: dict[str, str] = {}
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def bring_up(spec: HostSpec) -> None:
        fp = provision_fingerprint(lab, spec, sec, hostkeys[spec.name])
        fp_file = spec.state / "provisioned"
        if spec.name in running:
            old = fp_file.read_text().strip() if fp_file.exists() else ""
            results[spec.name] = "running" if old == fp else "running (config changed: down/up to apply)"
            return
        spec.state.mkdir(parents=True, exist_ok=True)
        host_down(spec)                       # leftovers of a half-started/killed host
        if not fp_file.exists() or fp_file.read_text().strip() != fp:
            for d in ("upper", "work"):
                shutil.rmtree(spec.state / d, ignore_errors=True)
            fp_file.unlink(missing_ok=True)
            mount_overlay(spec)
            provision(lab, spec, sec, hostkeys[spec.name])
            fp_file.write_text(fp + "\n")
            results[spec.name] = "provisioned+started"
        else:
            mount_overlay(spec)
            results[spec.name] = "started"
        (spec.state / "host.json").write_text(json.dumps(dataclasses.asdict(spec), ensure_ascii=False, indent=1))
        write_file(spec.state / "init.sh", init_script(lab, spec), 0o755)
        write_file(spec.state / "start.sh", start_script(spec), 0o755)
        net_up(spec)
        procs[spec.name] = start_host(spec)

    errors: dict[str, str] = {}

    def guarded(fn: Callable[[HostSpec], None]) -> Callable[[HostSpec], None]:
        def inner(spec: HostSpec) -> None:
            try:
                fn(spec)
            except LabError as e:
                errors[spec.name] = str(e)
            except Exception as e:  # report per host, keep the others going
                errors[spec.name] = f"{type(e).__name__}: {e}"
        return inner

    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        list(ex.map(guarded(bring_up), specs))
    t_started = time.monotonic()

    # wait until every host's sshd answers on :22 from the root namespace
    deadline = time.monotonic() + args.timeout
    pending = [s for s in specs if s.name not in errors]
    ready: dict[str, float] = {}
    while pending and time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=32) as ex:
            ok = list(ex.map(lambda s: ssh_banner(s.ip, 0.3), pending))
        still = []
        for s, good in zip(pending, ok):
            if good:
                ready[s.name] = time.monotonic() - t_started
            elif s.name in procs and procs[s.name].poll() is not None:
                errors[s.name] = f"host exited ({procs[s.name].returncode}):\n{console_tail(s)}"
            else:
                still.append(s)
        pending = still
        if pending:
            time.sleep(0.1)
    for s in pending:
        errors[s.name] = f"sshd not answering on {s.ip}:22 after {args.timeout:.0f}s:\n{console_tail(s)}"
    device_states = netsim_up(devices, device_creds, args.timeout) if devices else {}
    windows_states = winsim_up(windows, windows_creds, args.timeout) if windows else {}
    printer_states = mfpsim_up(printers, printer_creds, args.timeout) if printers else {}
    for name, state in [*device_states.items(), *windows_states.items(), *printer_states.items()]:
        if state.startswith("FAILED"):
            errors[name] = state
    write_client_files(devices)

    rows = []
    for s in specs:
        state = "FAILED" if s.name in errors else results.get(s.name, "?")
        rows.append([s.name, s.ip, s.device_class, s.zone or "-", ",".join(s.services),
                     ",".join(s.drifts) or "-", state])
    for d in devices:
        rows.append([d.name, d.ip, d.device_class, "-", f"netsim:{d.personality}", ",".join(d.drifts) or "-",
                     "FAILED" if d.name in errors else device_states.get(d.name, "?")])
    for w in windows:
        rows.append([w.name, w.ip, w.device_class, "-", "winsim:5985,5986", ",".join(w.drifts) or "-",
                     "FAILED" if w.name in errors else windows_states.get(w.name, "?")])
    for m in printers:
        rows.append([m.name, m.ip, "mfp", "-", f"mfpsim:snmp{m.snmp_version}", ",".join(m.drifts) or "-",
                     "FAILED" if m.name in errors else printer_states.get(m.name, "?")])
    log(_table(rows, ["HOST", "IP", "CLASS", "ZONE", "SERVICES", "DRIFTS", "STATE"]))
    n_new = sum(1 for s in specs if s.name in procs and s.name not in errors)
    if devices:
        log(f"netsim: {len(devices)} simulated network device(s) in netns {NETSIM_NS} "
            f"(log {NETSIM_DIR / 'netsim.log'})")
    if windows:
        log(f"winsim: {len(windows)} simulated Windows host(s) in netns {WINSIM_NS} (log {WINSIM_DIR / 'winsim.log'}, "
            f"CA {WINSIM_CA})")
    if printers:
        log(f"mfpsim: {len(printers)} simulated printer(s) in netns {MFPSIM_NS} (logs {MFPSIM_DIR}/snmpsim.log, "
            f"web.log; login attempts {MFPSIM_ATTEMPTS})")
    log(f"up: {len(specs) - len(errors)}/{len(specs)} hosts up ({n_new} started) in "
        f"{time.monotonic() - t0:.1f}s (prepare {t_prep - t0:.1f}s, start {t_started - t_prep:.1f}s, "
        f"ssh ready {time.monotonic() - t_started:.1f}s)")
    log(f"ssh: ssh -F {SSH_CONFIG} <ip>   vault: {VAULT_FILE} (password file {VAULT_PASS_FILE})")
    if errors:
        for name, err in errors.items():
            log(f"\nERROR {name}: {err}")
        log(f"\nup: {len(errors)} host(s) failed")
        return 1
    # The first audit after `up` must show only the planted drifts: chrony clients need a few
    # seconds to synchronise with ntp01.
    if not report_time_sync(lab, specs, args.sync_timeout):
        return 1
    # ... and every daemon a host should run must be running (clamd loads its signatures for a while on a busy
    # machine, and clamonacc starts only once clamd answers: an audit before that reports AV-RESIDENT fail)
    if not report_services(lab, specs, args.sync_timeout):
        return 1
    log(f"up: ready in {time.monotonic() - t0:.1f}s")
    return 0


def report_services(lab: dict[str, Any], specs: list[HostSpec], timeout: float) -> bool:
    """Wait (at most `timeout` s) until every service of every running host has a process with its `comm`."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        pids = netns_pids()
        missing = []
        for spec in specs:
            comms = {_comm(pid) for pid in pids.get(NETNS_PREFIX + spec.name, [])}
            if not comms:
                continue
            missing += [f"{spec.name}:{name}" for name in spec.services
                        if lab["services"][name].get("comm") and lab["services"][name]["comm"] not in comms]
        if not missing:
            log(f"services: running on every host ({time.monotonic() - t0:.1f}s)")
            return True
        if time.monotonic() >= deadline:
            log(f"services: still not running after {timeout:.0f}s: {', '.join(missing)}")
            return False
        time.sleep(0.5)


def cmd_down(args: argparse.Namespace) -> int:
    require_root()
    t0 = time.monotonic()
    _lockf = _lock()
    nss = lab_netns()
    kill_netns_processes()
    for ns in nss:
        run(["ip", "netns", "del", ns], check=False)
    # veths normally vanish with their netns; remove any orphan root-side peer
    for dev in os.listdir("/sys/class/net"):
        if dev.startswith(VETH_PREFIX):
            run(["ip", "link", "del", dev], check=False)
    if HOSTS_DIR.exists():
        _unmount_under(HOSTS_DIR)
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        run(["ip", "link", "del", BRIDGE])
    msg = f"down: {len(nss)} host(s) stopped"
    if args.purge and HOSTS_DIR.exists():
        _rmtree_safely(HOSTS_DIR)
        msg += f", per-host state {HOSTS_DIR} deleted"
    if args.purge and NETSIM_DIR.exists():
        shutil.rmtree(NETSIM_DIR)
        msg += f", simulated devices' state {NETSIM_DIR} deleted"
    if args.purge and (WINSIM_DIR / "hosts").exists():
        shutil.rmtree(WINSIM_DIR / "hosts")
        msg += f", simulated Windows hosts' state {WINSIM_DIR / 'hosts'} deleted"
    if args.purge and (MFPSIM_DIR / "data").exists():
        shutil.rmtree(MFPSIM_DIR / "data")
        MFPSIM_ATTEMPTS.unlink(missing_ok=True)
        msg += f", simulated printers' data and login counts under {MFPSIM_DIR} deleted"
    log(f"{msg} [{time.monotonic() - t0:.1f}s]")
    return 0


def _specs_of(args: argparse.Namespace) -> tuple[Path, list[HostSpec]]:
    require_root()
    inv_dir = Path(args.inventory).resolve() if args.inventory else DEFAULT_INVENTORY
    return inv_dir, build_specs(load_lab(), inv_dir)[0]


def cmd_stop(args: argparse.Namespace) -> int:
    """Stop the hosts of an inventory dir (their disks are kept; `up` starts them again)."""
    inv_dir, specs = _specs_of(args)
    with _lock():
        for spec in specs:
            host_down(spec)
    log(f"stop: {len(specs)} host(s) of {inv_dir} stopped")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    """Put hosts back to their planted state: stop them, delete their disk, bring them up again."""
    inv_dir, specs = _specs_of(args)
    devices = build_device_specs(load_lab(), inv_dir)
    windows = build_winsim_specs(load_lab(), inv_dir)
    printers = build_mfpsim_specs(load_lab(), inv_dir)
    wanted = set(args.hosts)
    unknown = (wanted - {s.name for s in specs} - {d.name for d in devices} - {w.name for w in windows}
               - {m.name for m in printers})
    if unknown:
        raise LabError(f"not lab hosts of {inv_dir}: {', '.join(sorted(unknown))}")
    with _lock():
        if wanted & {d.name for d in devices}:
            netsim_down()   # `up` starts the simulators again; the wiped devices from their initial configuration
            for d in devices:
                if d.name in wanted and d.state.exists():
                    shutil.rmtree(d.state)
        if wanted & {w.name for w in windows}:
            winsim_down()   # `up` starts it again; a wiped host re-seeds from its host file
            for w in windows:
                if w.name in wanted and w.state.exists():
                    shutil.rmtree(w.state)
        if wanted & {m.name for m in printers}:
            mfpsim_down()   # `up` starts it again: SET values (kept in memory) back to the host states
        for spec in specs:
            if spec.name in wanted:
                host_down(spec)
                if spec.state.exists():
                    _unmount_under(spec.state)
                    _rmtree_safely(spec.state)
    log(f"reset: {', '.join(sorted(wanted))} stopped and wiped; bringing them up again")
    return cmd_up(argparse.Namespace(inventory=args.inventory, jobs=8, timeout=90.0, sync_timeout=SYNC_TIMEOUT))


def cmd_status(args: argparse.Namespace) -> int:
    running = running_hosts()
    hosts = saved_hosts()
    known = {h["name"] for h in hosts}
    hosts += [{"name": n, "ip": "?", "device_class": "?", "zone": "?", "drifts": []}
              for n in running if n not in known]
    with ThreadPoolExecutor(max_workers=32) as ex:
        ssh_ok = list(ex.map(lambda h: h["name"] in running and ssh_banner(h["ip"], 0.5), hosts))
    rows = [[h["name"], h["ip"], h["device_class"], h.get("zone") or "-",
             "up" if h["name"] in running else "down", "ok" if ok else "-",
             ",".join(h.get("drifts") or []) or "-"] for h, ok in zip(hosts, ssh_ok)]
    try:
        devices = build_device_specs(load_lab(), DEFAULT_INVENTORY)
    except LabError:
        devices = []
    try:
        windows = build_winsim_specs(load_lab(), DEFAULT_INVENTORY)
    except LabError:
        windows = []
    try:
        printers = build_mfpsim_specs(load_lab(), DEFAULT_INVENTORY)
    except LabError:
        printers = []
    mfp_up = bool(mfpsim_pids())
    for m in printers:
        rows.append([m.name, m.ip, "mfp", "mfpsim", "up" if mfp_up else "down", "-", ",".join(m.drifts) or "-"])
    win_up = bool(winsim_pids())
    for w in windows:
        rows.append([w.name, w.ip, w.device_class, "winsim", "up" if win_up else "down",
                     "ok" if win_up and tcp_open(w.ip, 5985) else "-", ",".join(w.drifts) or "-"])
    sim_up = bool(netsim_pids())
    for d in devices:
        rows.append([d.name, d.ip, d.device_class, f"netsim:{d.personality}", "up" if sim_up else "down",
                     "ok" if sim_up and ssh_banner(d.ip, 0.5) else "-", ",".join(d.drifts) or "-"])
    if not rows:
        log("no lab hosts")
        return 0
    log(_table(rows, ["HOST", "IP", "CLASS", "ZONE", "STATE", "SSH", "DRIFTS"]))
    log(f"{len(running)}/{len(hosts)} up; bridge {BRIDGE}: "
        f"{'present' if Path(f'/sys/class/net/{BRIDGE}').exists() else 'absent'}; "
        f"base: {'current' if base_is_current() else 'missing/outdated'}")
    return 0


def cmd_wait_sync(args: argparse.Namespace) -> int:
    """Wait until chrony is synchronised on the running demo hosts that should be (all, or the
    named ones); exit 1 when it gives up."""
    require_root()
    lab = load_lab()
    specs = build_specs(lab, DEFAULT_INVENTORY)[0]
    devices = {d.name for d in build_device_specs(lab, DEFAULT_INVENTORY)}   # no chrony: their clock is simulated
    devices |= {w.name for w in build_winsim_specs(lab, DEFAULT_INVENTORY)}
    devices |= {m.name for m in build_mfpsim_specs(lab, DEFAULT_INVENTORY)}   # their clock is the host state's
    unknown = set(args.hosts) - {s.name for s in specs} - devices
    if unknown:
        raise LabError(f"not demo lab hosts: {', '.join(sorted(unknown))}")
    if args.hosts:
        specs = [s for s in specs if s.name in args.hosts]
    return 0 if report_time_sync(lab, specs, args.timeout) else 1


def cmd_exec(args: argparse.Namespace) -> int:
    """Run a command inside a host (all its namespaces, its root): no ssh, so it also works on a
    host whose sshd is broken or hangs (srv-hang01)."""
    require_root()
    pid = running_hosts().get(args.host)
    if pid is None:
        raise LabError(f"host {args.host} is not running")
    cmd = args.command or ["/bin/bash", "-l"]
    if cmd[0] == "--":
        cmd = cmd[1:]
    os.execvp("nsenter", ["nsenter", "-t", str(pid), "-a", "-r", "-w", "--",
                          "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                          f"TERM={os.environ.get('TERM', 'dumb')}", "HOME=/root", *cmd])
    return 127  # not reached


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="labctl", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("machine", help="install the Debian packages the lab and the tests need on this machine")
    sub.add_parser("base", help="build (once) the cached debootstrap base root")
    up = sub.add_parser("up", help="bring up the lab hosts (idempotent)")
    up.add_argument("--inventory", help=f"Nornir inventory dir (default {DEFAULT_INVENTORY})")
    up.add_argument("--jobs", type=int, default=8, help="parallel bring-up workers (default 8)")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for sshd (default 90)")
    up.add_argument("--sync-timeout", type=float, default=SYNC_TIMEOUT,
                    help=f"seconds to wait for chrony on the demo hosts (default {SYNC_TIMEOUT:.0f})")
    down = sub.add_parser("down", help="stop every lab host, remove its network and mounts")
    down.add_argument("--purge", action="store_true", help="also delete per-host state (not the base, not keys)")
    reset = sub.add_parser("reset", help="put hosts back to their planted state (wipe their disk, start again)")
    reset.add_argument("hosts", nargs="+")
    reset.add_argument("--inventory", default=None)
    stop = sub.add_parser("stop", help="stop the hosts of one inventory dir (keeps their disks)")
    stop.add_argument("--inventory", default=None)
    sub.add_parser("status", help="table of lab hosts")
    ws = sub.add_parser("wait-sync", help="wait until chrony is synchronised where no drift prevents it")
    ws.add_argument("hosts", nargs="*", help="demo hosts to wait for (default: all)")
    ws.add_argument("--timeout", type=float, default=SYNC_TIMEOUT)
    ex = sub.add_parser("exec", help="run a command inside a running host (no ssh): exec HOST -- CMD")
    ex.add_argument("host")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "machine":
            ensure_host_packages()
            return 0
        if args.cmd == "base":
            cmd_base(args)
            return 0
        return {"up": cmd_up, "down": cmd_down, "status": cmd_status, "exec": cmd_exec,
                "reset": cmd_reset, "stop": cmd_stop, "wait-sync": cmd_wait_sync}[args.cmd](args)
    except LabError as e:
        print(f"labctl {args.cmd}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
