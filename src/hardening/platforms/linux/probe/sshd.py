"""Section `ssh`: sshd's effective configuration in every connection context (servconf.c rules),
checked against `sshd -T -C` when sshd can run, and whether it still speaks SSH protocol 1.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from typing import Any, Callable, cast

from .base import Ctx, bool_word, int_or, to_int
from .includes import IncludeRule, IncludeWalk
from .services import dpkg_installed_version, dpkg_status_text
from .sockets import get_sockets


def sshd_split(line: str) -> tuple[str, list[str]] | None:
    """One sshd_config line -> (keyword, [args]) or None.

    Mirrors OpenSSH: the keyword ends at whitespace or one "="; arguments are
    whitespace separated, double quotes group, a token starting with "#" ends
    the line (argv_split with comment termination).
    """
    s = line.strip()
    if not s or s.startswith("#"):
        return None
    m = re.match(r"^([^\s=]+)[ \t]*(?:=[ \t]*)?(.*)$", s)
    if not m:
        return None
    kw, rest = m.group(1), m.group(2)
    args = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t":
            i += 1
        if i >= n:
            break
        if rest[i] == "#":
            break
        if rest[i] == '"':
            j = rest.find('"', i + 1)
            if j < 0:
                j = n
            args.append(rest[i + 1:j])
            i = j + 1
            continue
        j = i
        while j < n and rest[j] not in " \t":
            j += 1
        args.append(rest[i:j])
        i = j
    return kw, args


# Keywords sshd parses as another keyword (servconf.c keyword table).
_SSHD_ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication",
                 "skeyauthentication": "kbdinteractiveauthentication"}
_SSHCFG_MATCH_ONLY = 1   # reprocessing for a connection, before the first Match of this file
_SSHCFG_NEVERMATCH = 2   # inside an Include that sits in a Match block that did not match


def _sshd_parse(
    main_path: str, read: Callable[[str], str | None], glob_: Callable[[str], list[str]], sshdir: str,
    connection: set[str] | None,
) -> dict[str, Any]:
    """One pass of sshd's own parser (servconf.c parse_server_config) over the file tree.

    connection None: the start-up parse.  No connection exists, so a Match
    matches only when it is ``Match all``; lines of other Match blocks are skipped.
    connection = a set of Match keys ("file:line"): the reprocessing sshd does
    for each connection (parse_server_match_config).  Lines before the first
    Match are skipped (they are the global values), a Match is active when it
    is ``all`` or its key is in the set.  Its values are then copied OVER the
    global ones (copy_set_server_options).

    Both passes: within the pass the first obtained value wins; an Include'd
    file cannot clobber the includer's Match state; an Include inside a Match
    block that does not match makes everything in the included files inactive,
    even their ``Match all`` (SSHCFG_NEVERMATCH).
    Returns {"values": {kw: {"args", "source"}}, "all": {kw: [..]}, "files": [..],
    "matches": [{"key", "args", "parents"}], "include_problems": [..]} (files not read: too deep, a cycle).
    """
    values = {}  # type: dict[str, dict[str, Any]]
    every = {}  # type: dict[str, list[dict[str, Any]]]
    matches = []  # type: list[dict[str, Any]]
    state = {"active": connection is None}
    # Include takes globs (glob(3): sorted); a relative path is relative to /etc/ssh, "~" paths are left alone.
    rule = IncludeRule("glob", relative_to=sshdir, absolute=("/", "~"))
    walk = IncludeWalk(read, glob_)

    def process(path: str, text: str, flags: int, parents: list[str]) -> None:
        current = None  # type: str | None
        for n, line in enumerate(text.splitlines(), 1):
            sp = sshd_split(line)
            if sp is None:
                continue
            kw, args = sp
            k = _SSHD_ALIASES.get(kw.lower(), kw.lower())
            if k == "match":
                key = "%s:%d" % (path, n)
                current = key
                matches.append({"key": key, "args": args, "parents": list(parents)})
                is_all = bool(args) and args[0].lower() == "all"
                if flags & _SSHCFG_NEVERMATCH:
                    state["active"] = False
                else:
                    state["active"] = is_all or (connection is not None and key in connection)
                flags &= ~_SSHCFG_MATCH_ONLY
                continue
            if k == "include":
                include(path, args, flags, parents + ([current] if current else []))
                continue
            if not state["active"]:
                continue
            src = "%s:%d" % (path, n)
            every.setdefault(k, []).append({"args": args, "source": src})
            if k not in values:
                values[k] = {"args": args, "source": src}

    def include(path: str, patterns: list[str], flags: int, parents: list[str]) -> None:
        outer = state["active"]
        if flags & _SSHCFG_MATCH_ONLY:
            inc_flags = _SSHCFG_MATCH_ONLY
        else:
            inc_flags = 0 if outer else _SSHCFG_NEVERMATCH

        def handle(inc_path: str, text: str) -> None:
            process(inc_path, text, inc_flags, parents)
            state["active"] = outer  # an Include'd file cannot change its includer's Match state

        for pat in patterns:
            walk.include(rule, pat, path, handle)

    walk.visit(main_path, lambda path, text: process(path, text, 0 if connection is None else _SSHCFG_MATCH_ONLY, []))
    return {"values": values, "all": every, "files": walk.files, "matches": matches,
            "include_problems": walk.problems}


def sshd_match_label(match: dict[str, Any]) -> str:
    """'Match Address 10.0.0.0/8 (/etc/ssh/sshd_config.d/10-x.conf:3)'."""
    return "Match %s (%s)" % (" ".join(match["args"]), match["key"])


def sshd_effective(
    main_path: str, read: Callable[[str], str | None], glob_: Callable[[str], list[str]], sshdir: str = "/etc/ssh"
) -> dict[str, Any]:
    """Effective sshd settings: the global context and one context per Match block.

    Returns {"values": {keyword_lower: {"args", "source"}}, "all": {kw: [..]},
    "files": [paths read], "missing": bool, "contexts": [ctx, ...], "include_problems": [..]} where
    "values" is what a connection that matches no Match block gets (what
    ``sshd -T`` prints: the start-up values with ``Match all`` blocks copied
    over them), and each context is {"label", "key", "criteria", "values"}
    for a connection that matches that Match block (and the Match blocks an
    Include of it sits in), computed as sshd does for that connection.

    Semantics (OpenSSH servconf.c): keywords are case-insensitive; for almost
    every keyword the FIRST obtained value wins (later lines are ignored),
    across Include'd files; ``Include`` takes globs (sorted, glob(3)), relative
    paths are relative to /etc/ssh, processed recursively in place; ``Match``
    starts a conditional block that lasts to the next Match or the end of
    *that file*.  Per connection sshd parses again, keeps only matching Match
    blocks (first value wins among them) and copies their values over the
    global ones: so a Match value beats the global value even when the global
    line comes first, and ``Match all`` overrides the global value too.
    """
    startup = _sshd_parse(main_path, read, glob_, sshdir, None)

    def for_connection(keys: set[str]) -> dict[str, dict[str, Any]]:
        merged = dict(startup["values"])
        merged.update(_sshd_parse(main_path, read, glob_, sshdir, keys)["values"])
        return merged

    contexts = []
    seen = set()  # type: set[str]
    for m in startup["matches"]:
        if (m["args"] and m["args"][0].lower() == "all") or m["key"] in seen:
            continue
        seen.add(m["key"])
        keys = set([m["key"]] + m["parents"])
        by_key = dict((x["key"], x) for x in startup["matches"])
        criteria = []  # type: list[str]
        for k in m["parents"] + [m["key"]]:
            criteria.extend(by_key[k]["args"] if k in by_key else [])
        label = sshd_match_label(m)
        if m["parents"]:
            label += " inside " + ", ".join(sshd_match_label(by_key[p]) for p in m["parents"] if p in by_key)
        contexts.append({"label": label, "key": m["key"], "criteria": criteria, "values": for_connection(keys)})
    return {"values": for_connection(set()), "all": startup["all"], "files": startup["files"],
            "missing": not startup["files"], "contexts": contexts, "include_problems": startup["include_problems"]}


def sshd_get(eff: dict[str, Any], keyword: str, default: str) -> tuple[str, str]:
    """(first argument, source) of a keyword in one context's values, or (default, "default")."""
    k = _SSHD_ALIASES.get(keyword.lower(), keyword.lower())
    v = eff["values"].get(k)
    if v is None or not v["args"]:
        return default, "default"
    return v["args"][0], v["source"]


def normalize_permit_root_login(value: str) -> str:
    v = str(value).strip().lower()
    if v == "without-password":
        return "prohibit-password"
    return v


def sshd_password_auth(eff: dict[str, Any]) -> bool:
    """Whether a password can be used to log in over SSH (effective).

    PasswordAuthentication (default yes) -- or keyboard-interactive
    (KbdInteractiveAuthentication, default yes upstream) through PAM (UsePAM,
    default no upstream, Debian ships yes), which asks pam_unix for the
    password.  AuthenticationMethods without any password/keyboard-interactive
    method turns both off.
    """
    pa = bool_word(sshd_get(eff, "PasswordAuthentication", "yes")[0])
    kbd = bool_word(sshd_get(eff, "KbdInteractiveAuthentication", "yes")[0])
    pam = bool_word(sshd_get(eff, "UsePAM", "no")[0])
    methods_v = eff["values"].get("authenticationmethods")
    if methods_v and methods_v["args"] and methods_v["args"][0].lower() != "any":
        lists = " ".join(methods_v["args"]).lower()
        if "password" not in lists:
            pa = False
        if "keyboard-interactive" not in lists:
            kbd = False
    return bool(pa) or (bool(kbd) and bool(pam))


# --- sshd's own answer: sshd -T [-C spec] for one synthesized connection per Match block ---------

def parse_sshd_t(text: str, source: str) -> dict[str, dict[str, Any]]:
    """`sshd -T` output ("keyword value" lines) -> {keyword: {"args", "source"}} (first line wins)."""
    values = {}  # type: dict[str, dict[str, Any]]
    for line in text.splitlines():
        parts = line.split()
        if parts:
            values.setdefault(parts[0].lower(), {"args": parts[1:], "source": source})
    return values


def _pattern_matches(value: str, patterns: str, cidr: bool = False) -> bool:
    """OpenSSH match_pattern_list / addr_match_list: a negated match refuses, else any positive match."""
    hit = False
    for pat in patterns.split(","):
        neg = pat.startswith("!")
        pat = pat[1:] if neg else pat
        ok = fnmatch.fnmatchcase(value, pat)
        if cidr and "/" in pat:
            try:
                ok = ipaddress.ip_address(value) in ipaddress.ip_network(pat, strict=False)
            except ValueError:
                ok = False
        if ok and neg:
            return False
        hit = hit or ok
    return hit


def _candidates(patterns: str, cidr: bool = False) -> list[str]:
    """Values that might match a pattern list: its positive patterns with wildcards filled in."""
    out = []
    for pat in patterns.split(","):
        if not pat or pat.startswith("!"):
            continue
        if cidr and "/" in pat:
            try:
                net = ipaddress.ip_network(pat, strict=False)
                out.append(str(net.network_address + (1 if net.num_addresses > 1 else 0)))
            except ValueError:
                pass
            continue
        filled = pat.replace("*", "1" if cidr else "x").replace("?", "1" if cidr else "x")
        out.append(filled)
    out.extend(["192.0.2.1", "2001:db8::1"] if cidr else ["x"])
    return [c for c in out if _pattern_matches(c, patterns, cidr)]


_MATCH_ATTRIBUTES = ("user", "group", "host", "address", "localaddress", "localport", "rdomain")
_SPEC_KEY = {"host": "host", "address": "addr", "localaddress": "laddr", "localport": "lport", "rdomain": "rdomain"}


def _match_pairs(criteria: list[str]) -> list[tuple[str, str]] | None:
    """Match arguments -> [(attribute, pattern list)]; None for a criterion the probe does not know."""
    pairs = []
    i = 0
    while i < len(criteria):
        attrib = criteria[i].lower()
        if attrib == "all":
            i += 1
            continue
        if i + 1 >= len(criteria) or attrib not in _MATCH_ATTRIBUTES:
            return None
        pairs.append((attrib, criteria[i + 1]))
        i += 2
    return pairs


def _criterion_value(attrib: str, patterns: str) -> str | None:
    """A value that satisfies one non-user criterion, or None."""
    if attrib == "localport":
        return patterns if to_int(patterns) is not None else None
    cands = _candidates(patterns, cidr=attrib in ("address", "localaddress"))
    return cands[0] if cands else None


def sshd_connection_spec(
    criteria: list[str], group_members: Callable[[str], list[tuple[str, str]]],
) -> str | None:
    """A `sshd -T -C` spec (user=…,host=…,addr=…,laddr=…,lport=…) for a connection that
    satisfies every Match criterion, or None when the probe cannot synthesize one
    (an unknown criterion, a Group nobody on the host is a member of).

    group_members(patterns) -> [(user, group)] of the host's users whose group
    matches the pattern list.
    """
    pairs = _match_pairs(criteria)
    if pairs is None:
        return None
    spec = {"user": "sshd-probe-nomatch", "host": "", "addr": "192.0.2.10", "laddr": "192.0.2.20", "lport": "22"}
    users = None  # type: list[str] | None
    for attrib, pats in pairs:
        if attrib == "user":
            users = _candidates(pats) if users is None else [u for u in users if _pattern_matches(u, pats)]
        elif attrib == "group":
            members = [u for u, _ in group_members(pats)]
            users = members if users is None else [u for u in users if u in members]
        else:
            value = _criterion_value(attrib, pats)
            if value is None:
                return None
            spec[_SPEC_KEY[attrib]] = value
    if users is not None:
        if not users:
            return None
        spec["user"] = users[0]
    spec["host"] = spec["host"] or spec["addr"]
    return ",".join("%s=%s" % (k, v) for k, v in spec.items())


def host_group_members(ctx: Ctx) -> Callable[[str], list[tuple[str, str]]]:
    """group_members() for sshd_connection_spec from /etc/passwd and /etc/group."""
    passwd = [ln.split(":") for ln in (ctx.read("/etc/passwd") or "").splitlines() if ln.count(":") >= 6]
    groups = [ln.split(":") for ln in (ctx.read("/etc/group") or "").splitlines() if ln.count(":") >= 3]

    def members(patterns: str) -> list[tuple[str, str]]:
        out = []  # type: list[tuple[str, str]]
        for g in groups:
            if not _pattern_matches(g[0], patterns):
                continue
            names = [u for u in g[3].split(",") if u] + [p[0] for p in passwd if p[3] == g[2]]
            out.extend((u, g[0]) for u in names)
        return out

    return members


SSHD_T_MAX_CONTEXTS = 32


def sshd_contexts(ctx: Ctx, eff: dict[str, Any], pointer: str) -> list[dict[str, Any]]:
    """Every connection context with its effective values: [{"label", "how", "values"}].

    Live host: sshd's own answer (`sshd -T`, and `sshd -T -C spec` per Match
    block); a Match block the probe cannot synthesize a connection for, and
    every context when `sshd -T` fails (no root, missing host keys, no sshd
    binary, an offline --root), comes from the probe's parser, and the
    evidence says so.
    """
    out = []
    base = ctx.run(["sshd", "-T"]) if ctx.commands else None
    if base is not None and base.ok and base.out.strip():
        out.append({"label": "global (no Match block applies)", "how": "sshd -T",
                    "values": parse_sshd_t(base.out, "sshd -T")})
    else:
        why = ("commands unavailable (offline root)" if not ctx.commands else "no sshd binary" if base is None
               else "rc=%s %s" % (base.rc, (base.err or base.out).strip()[:200]))
        ctx.add_evidence(pointer, "probe:effective",
                         "sshd -T failed (%s): every context is from the probe's parser of the files" % why)
        base = None
        out.append({"label": "global (no Match block applies)", "how": "parser", "values": eff["values"]})
    members = host_group_members(ctx)
    for n, c in enumerate(eff["contexts"]):
        # a bounded number of sshd runs keeps the probe fast; the rest come from the parser (evidence says so)
        spec = sshd_connection_spec(c["criteria"], members) if base is not None and n < SSHD_T_MAX_CONTEXTS else None
        res = ctx.run(["sshd", "-T", "-C", spec]) if spec is not None else None
        if spec is not None and res is not None and res.ok and res.out.strip():
            how = "sshd -T -C " + spec
            out.append({"label": c["label"], "how": how, "values": parse_sshd_t(res.out, how)})
            continue
        if base is not None:
            why = ("more than %d Match blocks" % SSHD_T_MAX_CONTEXTS if n >= SSHD_T_MAX_CONTEXTS
                   else "no connection can be synthesized for it" if spec is None
                   else "sshd -T -C %s failed: %s" % (spec, (res.err if res else "")[:200]))
            ctx.add_evidence(pointer, "probe:effective", "%s: %s; values from the probe's parser" % (c["label"], why))
        out.append({"label": c["label"], "how": "parser", "values": c["values"]})
    return out


# Worst first: the order in which a value of a fact is less compliant.
_PRL_RANK = {"yes": 0, "prohibit-password": 1, "forced-commands-only": 2, "no": 3}


def sshd_context_facts(values: dict[str, Any]) -> dict[str, Any]:
    """The facts one context's values give (what collect_ssh reports per context)."""
    eff = {"values": values}
    banner = sshd_get(eff, "Banner", "none")[0]
    pll = bool_word(sshd_get(eff, "PrintLastLog", "yes")[0])
    return {
        "permit_root_login": normalize_permit_root_login(sshd_get(eff, "PermitRootLogin", "prohibit-password")[0]),
        "password_authentication": sshd_password_auth(eff),
        "max_auth_tries": int_or(sshd_get(eff, "MaxAuthTries", "6")[0], 6),
        "last_login_shown": True if pll is None else pll,
        "banner_file": None if banner.lower() == "none" else banner,
        "client_alive_interval": int_or(sshd_get(eff, "ClientAliveInterval", "0")[0], 0),
        "client_alive_count_max": int_or(sshd_get(eff, "ClientAliveCountMax", "3")[0], 3),
    }


def _worst(rows: list[dict[str, Any]], key: str, rank: Callable[[Any], Any]) -> dict[str, Any]:
    return sorted(rows, key=lambda r: rank(r[key]))[0]


_SSHD_WORST = {
    # fact pointer: (context key, rank: lower = worse)
    "/remote_access/ssh/permit_root_login": ("permit_root_login", lambda v: _PRL_RANK.get(v, -1)),
    "/remote_access/ssh/password_authentication": ("password_authentication", lambda v: 0 if v else 1),
    "/remote_access/ssh/max_auth_tries": ("max_auth_tries", lambda v: -v),
    "/login/last_login_shown": ("last_login_shown", lambda v: 1 if v else 0),
}


def collect_ssh(ctx: Ctx) -> None:
    main = "/etc/ssh/sshd_config"
    eff = sshd_effective(main, ctx.read, ctx.glob)
    installed = (not eff["missing"]) or ctx.exists("/usr/sbin/sshd")
    running = ctx.running("sshd")
    sockets = get_sockets(ctx)
    for f in eff["files"]:
        ctx.file_evidence("/remote_access/ssh", f)
    for problem in eff["include_problems"]:
        ctx.add_evidence("/remote_access/ssh", "probe:include", problem)
    ctx._cache["ssh_banners"] = None
    if not installed:
        ctx.fact("/remote_access/ssh/enabled", False)
        ctx.fact("/remote_access/privileged_remote_login", False)
        for k in ("permit_root_login", "password_authentication", "max_auth_tries", "protocol_version", "contexts"):
            ctx.error("/remote_access/ssh/" + k, "sshd is not installed (no /etc/ssh/sshd_config)")
        ctx.error("/login/banner", "sshd is not installed (no /etc/ssh/sshd_config)")
        ctx.error("/login/last_login_shown", "sshd is not installed (no /etc/ssh/sshd_config)")
        ctx.add_evidence("/remote_access/ssh", "file:" + main, "(missing)")
        ctx._cache["ssh_banners"] = []  # nothing is shown over SSH: no SSH banner applies
        return
    if eff["missing"]:
        why = "sshd binary present but %s missing" % main
        for k in ("permit_root_login", "password_authentication", "max_auth_tries", "protocol_version", "contexts"):
            ctx.error("/remote_access/ssh/" + k, why)
        for p in ("/login/banner", "/login/last_login_shown", "/remote_access/privileged_remote_login"):
            ctx.error(p, why)
    else:
        collect_ssh_contexts(ctx, eff)
    # enabled: the daemon runs, or (config present and something listens on its port)
    ports = set()  # type: set[int]
    for item in eff["all"].get("port", []):
        for a in item["args"]:
            port = to_int(a)
            if port is not None:
                ports.add(port)
    ports = ports or {22}
    listening = None
    if sockets is not None:
        listening = any(s["proto"] == "tcp" and s["port"] in ports for s in sockets)
    if running or listening:
        ctx.fact("/remote_access/ssh/enabled", True)
    elif running is None and listening is None:
        ctx.error("/remote_access/ssh/enabled", "cannot read processes or listening sockets")
    else:
        ctx.fact("/remote_access/ssh/enabled", False)
    ctx.add_evidence("/remote_access/ssh/enabled", "probe:effective",
                     "sshd process running: %s; tcp listener on %s: %s" % (running, sorted(ports), listening))


def collect_ssh_contexts(ctx: Ctx, eff: dict[str, Any]) -> None:
    """Per-context sshd facts, and each existing fact pointer set to its WORST value over the contexts.

    The evidence of each fact names the context that gives the worst value
    (and how it was learnt: sshd -T -C … or the parser)."""
    contexts = sshd_contexts(ctx, eff, "/remote_access/ssh")
    rows = []
    for c in contexts:
        row = sshd_context_facts(c["values"])
        row["context"] = c["label"]
        row["how"] = c["how"]
        rows.append(row)
        summary = []
        for kw, d in (("PermitRootLogin", "prohibit-password"), ("PasswordAuthentication", "yes"),
                      ("KbdInteractiveAuthentication", "yes"), ("UsePAM", "no"),
                      ("AuthenticationMethods", "any"), ("MaxAuthTries", "6"),
                      ("PrintLastLog", "yes"), ("Banner", "none"), ("ClientAliveInterval", "0"),
                      ("ClientAliveCountMax", "3")):
            v, s = sshd_get({"values": c["values"]}, kw, d)
            summary.append("%s %s  (%s)" % (kw, v, s))
        ctx.add_evidence("/remote_access/ssh", "probe:effective", "%s [%s]\n%s" % (
            c["label"], c["how"], "\n".join(summary)))
    ctx.fact("/remote_access/ssh/contexts", rows)
    for pointer, (key, rank) in _SSHD_WORST.items():
        worst = _worst(rows, key, rank)
        ctx.fact(pointer, worst[key])
        ctx.add_evidence(pointer, "probe:effective", "worst over %d connection context(s): %s in %s [%s]" % (
            len(rows), json.dumps(worst[key]), worst["context"], worst["how"]))
    ctx.fact("/remote_access/privileged_remote_login", ctx.facts["remote_access"]["ssh"]["permit_root_login"] != "no")
    v1, why = sshd_accepts_protocol_1(ctx)
    if v1 is None:
        ctx.error("/remote_access/ssh/protocol_version", "cannot tell whether sshd accepts protocol 1: " + why)
    else:
        ctx.fact("/remote_access/ssh/protocol_version", 1 if v1 else 2)
    banners = []
    for row in rows:
        text = None  # type: str | None
        path = row["banner_file"]
        if path is not None:
            text = ctx.read(path, 64 * 1024)
            if text is None:
                ctx.add_evidence("/login/banner", "file:" + path, "(missing: sshd shows no banner)")
            else:
                ctx.add_evidence("/login/banner", "file:" + path, text)
        banners.append({"surface": "ssh", "context": row["context"],
                        "source": ("file:" + path) if path else "sshd: Banner none", "text": text})
    ctx._cache["ssh_banners"] = banners
    shown = [b["text"] for b in banners]
    # the worst SSH banner: none shown in some context, else the shortest text
    ctx.fact("/login/banner", None if None in shown else sorted(shown, key=lambda t: len(t.strip()))[0][:8000])


SSH_V1_REMOVED = (7, 4)      # OpenSSH 7.4 removed the SSH-1 server; "Protocol" is ignored from then on
SSH_V1_OFF_BY_DEFAULT = (5, 4)  # before 5.4 the compiled-in default could include protocol 1


def parse_openssh_version(text: str) -> tuple[int, int] | None:
    """(major, minor) from "OpenSSH_9.2p1" or a package version such as "1:9.2p1-2+deb12u3"."""
    m = re.search(r"OpenSSH_(\d+)\.(\d+)", text) or re.match(r"^(?:\d+:)?(\d+)\.(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def sshd_version(ctx: Ctx) -> tuple[tuple[int, int] | None, str]:
    """Installed OpenSSH server version and where it was read (cached): the package database, else
    the version string compiled into the binary."""
    if "sshd_version" not in ctx._cache:
        ctx._cache["sshd_version"] = _read_sshd_version(ctx)
    return cast("tuple[tuple[int, int] | None, str]", ctx._cache["sshd_version"])


def _read_sshd_version(ctx: Ctx) -> tuple[tuple[int, int] | None, str]:
    text = dpkg_status_text(ctx) if ctx.isdir("/var/lib/dpkg") else None
    if text:
        v = dpkg_installed_version(text, "openssh-server")
        if v and parse_openssh_version(v):
            return parse_openssh_version(v), "dpkg openssh-server " + v
    res = ctx.run(["rpm", "-q", "--qf", "%{VERSION}", "openssh-server"])
    if res is not None and res.ok and parse_openssh_version(res.out):
        return parse_openssh_version(res.out), "rpm openssh-server " + res.out.strip()
    for binary in ("/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        data = ctx.read_bytes(binary, 8 * 1024 * 1024)
        if data:
            m = re.search(rb"OpenSSH_(\d+)\.(\d+)", data)
            if m:
                return (int(m.group(1)), int(m.group(2))), "%s (OpenSSH_%s.%s)" % (
                    binary, m.group(1).decode(), m.group(2).decode())
    return None, "no openssh-server package and no version string in sshd"


def ssh_protocol_1(version: tuple[int, int] | None, protocol_args: list[str] | None) -> bool | None:
    """Whether the SSH server accepts protocol 1; None if it cannot be told.

    OpenSSH >= 7.4 has no SSH-1 server at all (a ``Protocol`` line is ignored).  Older servers
    accept 1 when ``Protocol`` lists it, or when it is unset and the version predates 5.4.
    """
    if version is not None and version >= SSH_V1_REMOVED:
        return False
    if protocol_args:
        listed = ",".join(protocol_args).replace(" ", "").split(",")
        if "1" in listed:
            return True if version is not None else None
        return False
    if version is None:
        return None
    return version < SSH_V1_OFF_BY_DEFAULT


def sshd_accepts_protocol_1(ctx: Ctx) -> tuple[bool | None, str]:
    """(accepts SSH-1, explanation) of the installed sshd with its effective ``Protocol``."""
    eff = sshd_effective("/etc/ssh/sshd_config", ctx.read, ctx.glob)
    version, vsrc = sshd_version(ctx)
    proto = eff["values"].get("protocol")
    v1 = ssh_protocol_1(version, proto["args"] if proto else None)
    why = "sshd %s; Protocol %s" % (
        ("%d.%d (%s)" % (version[0], version[1], vsrc)) if version else "version unknown: " + vsrc,
        ("%s (%s)" % (" ".join(proto["args"]), proto["source"])) if proto else "unset")
    return v1, why
