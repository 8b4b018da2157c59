"""Section `banners`: every pre-login text the host shows (SSH Banner, /etc/issue, GDM)."""

from __future__ import annotations

import re
from typing import Any  # noqa: F401 -- used in a "# type:" comment

from .base import Ctx
from .screen_lock import gvariant_value, parse_dconf_keyfile

# agetty escapes in /etc/issue (\n host name, \l tty, \r release, \S{VAR} os-release …): replaced by
# the machine's own data at display time, never part of a warning.
_GETTY_ESCAPE_RE = re.compile(r"\\(?:[46SeO]\{[^}]*\}|[bdeslmnoOrtuUv46S\\])")
GDM_BINARIES = ("/usr/sbin/gdm3", "/usr/sbin/gdm", "/usr/bin/gdm")
GDM_DEFAULT_PROFILE = "user-db:user\nsystem-db:gdm\nfile-db:/usr/share/gdm/greeter-dconf-defaults\n"
# The compiled greeter defaults and the keyfile they are built from (Debian: gdm3's postinst).
GDM_DEFAULTS_SOURCES = {"/usr/share/gdm/greeter-dconf-defaults": ("/etc/gdm3/greeter.dconf-defaults",
                                                                  "/etc/gdm/greeter.dconf-defaults")}
BANNER_TEXT_MAX = 4000


def issue_display_text(raw: str) -> str:
    """/etc/issue as text without getty escapes ("Debian GNU/Linux 12 \\n \\l" -> "Debian GNU/Linux 12")."""
    return _GETTY_ESCAPE_RE.sub("", raw).strip()


def gdm_banner_from(dbs: list[tuple[str, dict[tuple[str, str], str]]]) -> tuple[bool, str, str]:
    """(enabled, text, source) of the GDM login banner: the first db in the profile that sets a key wins."""
    found = {}  # type: dict[str, tuple[Any, str]]
    for source, values in dbs:
        for key in ("banner-message-enable", "banner-message-text"):
            raw = values.get(("org/gnome/login-screen", key))
            if raw is not None and key not in found:
                found[key] = (gvariant_value(raw), source)
    enabled = found.get("banner-message-enable", (False, "default"))
    text = found.get("banner-message-text", ("", "default"))
    return enabled[0] is True, str(text[0]), "%s; %s" % (enabled[1], text[1])


def gdm_dconf_dbs(ctx: Ctx, pointer: str) -> list[tuple[str, dict[tuple[str, str], str]]]:
    """The keyfile values of each db of the gdm dconf profile, in profile order."""
    profile = None
    for path in ("/etc/dconf/profile/gdm", "/usr/share/dconf/profile/gdm"):
        profile = ctx.read(path)
        if profile is not None:
            ctx.file_evidence(pointer, path, profile)
            break
    if profile is None:
        profile = GDM_DEFAULT_PROFILE
        ctx.add_evidence(pointer, "probe:effective", "no gdm dconf profile file: GDM's built-in profile\n" + profile)
    dbs = []
    for line in profile.splitlines():
        kind, _, name = line.strip().partition(":")
        files = []  # type: list[str]
        if kind == "system-db":
            files = [f for f in ctx.glob("/etc/dconf/db/%s.d/*" % name.strip()) if ctx.isfile(f)]
        elif kind == "file-db":
            files = [f for f in GDM_DEFAULTS_SOURCES.get(name.strip(), ()) if ctx.isfile(f)][:1]
        values = {}  # type: dict[tuple[str, str], str]
        for f in files:  # later keyfile (name order) overrides
            text = ctx.read(f) or ""
            kf = parse_dconf_keyfile(text)
            if any(sec == "org/gnome/login-screen" for sec, _ in kf):
                ctx.file_evidence(pointer, f, text)
            for k, v in kf.items():
                values[k] = v
        if files:
            dbs.append(("%s (%s)" % (line.strip(), ", ".join(files)), values))
    return dbs


def collect_login_banners(ctx: Ctx) -> None:
    """/login/banners: one item per place a pre-login text is shown, each {surface, context, source, text}.

    ssh: the Banner file in every sshd connection context (from the ssh section);
    console: /etc/issue (+ /etc/issue.d/*.issue) as getty shows it, escapes removed;
    gui: the GDM greeter banner, only when GDM is installed (a gdm3/gdm binary).
    text null = nothing is shown there.
    """
    ptr = "/login/banners"
    ssh = ctx._cache.get("ssh_banners")
    if ssh is None:
        ctx.error(ptr, "the sshd banner could not be determined (see /remote_access/ssh)")
        return
    banners = list(ssh)
    parts = []
    for path in ["/etc/issue"] + ctx.glob("/etc/issue.d/*.issue"):
        raw = ctx.read(path, 64 * 1024)
        if raw is not None:
            ctx.add_evidence(ptr, "file:" + path, raw)
            parts.append(issue_display_text(raw))
    if not parts:
        ctx.add_evidence(ptr, "file:/etc/issue", "(missing: the console shows no text before login)")
    text = "\n".join(p for p in parts if p)
    banners.append({"surface": "console", "context": "local console login (getty)", "source": "file:/etc/issue",
                    "text": text[:BANNER_TEXT_MAX] if text else None})
    gdm = [b for b in GDM_BINARIES if ctx.exists(b)]
    if not gdm:
        ctx.add_evidence(ptr, "probe:effective", "GDM not installed (none of %s): no graphical login banner applies"
                         % ", ".join(GDM_BINARIES))
    else:
        enabled, gtext, source = gdm_banner_from(gdm_dconf_dbs(ctx, ptr))
        ctx.add_evidence(ptr, "probe:effective", "GDM installed (%s): banner-message-enable=%s (%s)" % (
            gdm[0], enabled, source))
        banners.append({"surface": "gui", "context": "GDM login screen", "source": source,
                        "text": gtext[:BANNER_TEXT_MAX] if enabled and gtext.strip() else None})
    ctx.fact(ptr, banners)
