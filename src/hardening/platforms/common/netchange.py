"""Plan and apply for network devices: one `NetworkRemediator` mixin serves every netmiko platform.

A platform class adds the mixin to its bases (before `NetmikoCapturePlatform`)::

    class IOSPlatform(NetworkRemediator, NetmikoCapturePlatform): ...

and gets `fixes` (the requirement ids its template file has templates for), `plan` and `apply`. The template file
is `remediation.yaml` in the platform's package (beside the module that defines the class); a class sets
`remediation_file` only to read another. The mixin needs from the
platform only what `NetmikoCapturePlatform` already has: `data_file` (platform.yaml: `volatile_lines`, and
`error_markers` unless remediation.yaml sets its own), `running_command`, `connect`, `run_command`.

The intended configuration is data: remediation.yaml holds, per requirement id, the lines that satisfy it, with
`{parameter}` placeholders filled from the site parameters (see `render`). Plan fetches the running
configuration, builds intended = running + the templates of the failing requirements, and the remediation is
running vs intended: hier-config for hierarchical configurations (IOS, FortiOS; its rules tuned in the data so it
emits no needless negations), a small keyed diff for flat ones (RTX: a command's key replaces, `no <command>`
removes). Each `Change` carries the exact lines sent, secrets masked; no template ever holds a secret.

Apply, in one session: the running configuration is saved to `target.backup_file` (0600) and, where the device
can, copied on the device; the remediation is computed again and refused unless it is what was approved; the
lines are sent checking every answer for the CLI's error markers; then the configuration is saved. On any error,
rejected line, timeout or lost session it reconnects if needed, restores the prior configuration (the device's
own replace when it has one, else the reverse remediation running-now -> prior), fetches the running
configuration again and proves it text-equal to the backup after dropping the platform's `volatile_lines`, and
saves. `rolled_back` is True only when that proof holds.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
import string
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hardening.core.errors import ChangeError, CollectionError, HardeningError
from hardening.core.platform import ApplyResult, Change, Target
from hardening.core.secrets import REDACTOR, mask_config_secrets
from hardening.platforms.common.netcli import disconnect, load_platform_data, map_error

RUNNING_TARGET = "running-config"
LOG = logging.getLogger(__name__)


# --- the template file ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """A bound on a number a configured line carries: the sum of `groups` (regex groups of Keep.match, an absent
    group counts 0) times `weights` is at least `minimum` and at most `maximum` (templates filled by render),
    and is none of `never` (e.g. 0 = no timeout)."""

    groups: tuple[int, ...]
    weights: tuple[int, ...]
    minimum: str | None
    maximum: str | None
    never: tuple[int, ...]

    def holds(self, match: re.Match[str]) -> bool:
        value = sum(int(match.group(g) or 0) * w for g, w in zip(self.groups, self.weights, strict=True))
        return (value not in self.never and (self.minimum is None or value >= int(self.minimum))
                and (self.maximum is None or value <= int(self.maximum)))


@dataclass(frozen=True)
class Keep:
    """A configured line of the template line's key that already complies stays (a template never weakens a
    stricter setting: a 10-minute timeout is not raised to the site's 15)."""

    match: re.Pattern[str]
    checks: tuple[Check, ...]
    absent: str | None = None   # the line the device behaves as when none of the key is configured (its default)

    def keeps(self, line: str) -> bool:
        found = self.match.search(line)
        return found is not None and all(check.holds(found) for check in self.checks)


@dataclass(frozen=True)
class Edit:
    """Words taken out of a configured list value (`set allowaccess ping https http telnet` without http and
    telnet); a line left without a value is removed."""

    match: re.Pattern[str]
    drop_words: frozenset[str]

    def apply(self, line: str) -> str | None:
        """The edited line, None to remove it, or the line itself when the edit does not concern it."""
        found = self.match.search(line)
        if found is None:
            return line
        words = line[found.end():].split()
        kept = [w for w in words if w.strip('"') not in self.drop_words]
        if kept == words:
            return line
        return f"{line[:found.end()].rstrip()} {' '.join(kept)}" if kept else None


@dataclass(frozen=True)
class Entry:
    """One template entry: `lines` ensured (replacing the lines of the same key unless one of them passes
    `keep`) and `remove` patterns dropped, under the section path `section` (created when missing), in every
    child of it matching `within` if given."""

    section: tuple[str, ...]
    within: re.Pattern[str] | None
    lines: tuple[str, ...]
    remove: tuple[re.Pattern[str], ...]
    keep: tuple[Keep, ...] = ()
    edits: tuple[Edit, ...] = ()
    # A regex (placeholders filled by render, escaped): the entry is skipped when a line of its scope (the
    # section above its last one, or the whole configuration) matches, so a server already there is not added
    # a second time.
    present: str | None = None
    # Regexes (filled likewise, one per item of a list parameter): a line or section `remove` matches stays when
    # it, or a line below it, matches one of them.
    remove_unless: tuple[str, ...] = ()

    def removes(self, lines: Sequence[str]) -> bool:
        """Whether `remove` drops the item whose own line and lines below are `lines` (its own first)."""
        return (any(p.search(lines[0]) for p in self.remove)
                and not any(re.search(p, line) for p in self.remove_unless for line in lines))

    def is_present(self, lines: Sequence[str]) -> bool:
        return self.present is not None and any(re.search(self.present, line) for line in lines)

    def edited(self, line: str) -> str | None:
        for edit in self.edits:
            result = edit.apply(line)
            if result is None:
                return None
            line = result
        return line

    def kept(self, line: str) -> bool:
        return any(k.keeps(line) for k in self.keep)

    def default_kept(self, line: str) -> bool:
        """No line of `line`'s key is configured and the device's default for it complies."""
        return any(k.absent is not None and k.match.search(line) is not None and k.keeps(k.absent)
                   for k in self.keep)


@dataclass(frozen=True)
class Templates:
    """A platform's remediation.yaml, checked."""

    source: Path
    engine: str                                   # hier_config | flat
    hier_config_platform: str | None
    rules: Mapping[str, Any]
    session: Mapping[str, Any]
    parameters: Mapping[str, Any]                 # defaults of parameters the catalog does not define
    hidden_defaults: tuple[re.Pattern[str], ...]  # lines the device does not display (its defaults)
    flat_keys: tuple[tuple[re.Pattern[str], str | None], ...]
    requirements: Mapping[str, tuple[Entry, ...]]


class TemplateError(HardeningError):
    """A remediation.yaml is not usable (names the file and the place)."""


def _patterns(values: Any, where: str) -> tuple[re.Pattern[str], ...]:
    items = [values] if isinstance(values, str) else list(values or [])
    try:
        return tuple(re.compile(str(v)) for v in items)
    except re.error as exc:
        raise TemplateError(f"{where}: bad regex ({exc})") from None


def _keep(raw: Any, where: str) -> Keep:
    try:
        checks = tuple(Check(tuple(c.get("groups", [1])), tuple(c.get("weights", [1] * len(c.get("groups", [1])))),
                             None if c.get("min") is None else str(c["min"]),
                             None if c.get("max") is None else str(c["max"]), tuple(c.get("never", [])))
                       for c in raw.get("checks") or [])
    except (AttributeError, TypeError) as exc:
        raise TemplateError(f"{where}: keep is {{match, checks: [{{groups, weights, min, max, never}}]}} "
                            f"({exc})") from None
    if any(len(c.groups) != len(c.weights) for c in checks):
        raise TemplateError(f"{where}: every check has as many weights as groups")
    return Keep(_patterns(raw["match"], f"{where}/match")[0], checks,
                None if raw.get("absent") is None else str(raw["absent"]))


def _entry(raw: Any, where: str) -> Entry:
    fields = {"section", "within", "lines", "remove", "keep", "edit", "present", "remove_unless"}
    if not isinstance(raw, dict) or not set(raw) <= fields:
        raise TemplateError(f"{where}: an entry is a mapping of {', '.join(sorted(fields))}")
    section = raw.get("section") or []
    section = [section] if isinstance(section, str) else section
    within = _patterns(raw["within"], f"{where}/within")[0] if raw.get("within") else None
    lines = tuple(str(x) for x in raw.get("lines") or [])
    for line in lines:
        if mask_line(line) != line:
            raise TemplateError(f"{where}: `{line}` would carry a secret: templates never hold one")
    keep = tuple(_keep(k, f"{where}/keep/{i}") for i, k in enumerate(raw.get("keep") or []))
    edits = tuple(Edit(_patterns(e["match"], f"{where}/edit/{i}/match")[0], frozenset(map(str, e["drop_words"])))
                  for i, e in enumerate(raw.get("edit") or []))
    present = raw.get("present")
    unless = raw.get("remove_unless") or []
    # kept as unrendered text in the pattern (render fills the parameters, escaped, and compiles)
    return Entry(tuple(str(s) for s in section), within, lines, _patterns(raw.get("remove"), f"{where}/remove"),
                 keep, edits, None if present is None else str(present),
                 tuple(str(u) for u in ([unless] if isinstance(unless, str) else unless)))


@functools.cache
def load_templates(path: Path) -> Templates:
    """Load and check a remediation.yaml (TemplateError naming the file and the place)."""
    try:
        data = load_platform_data(path)
    except (HardeningError, ValueError) as exc:
        raise TemplateError(f"{path}: {exc}") from None
    engine = data.get("engine")
    if engine not in {"hier_config", "flat"}:
        raise TemplateError(f"{path}: /engine: hier_config or flat, not {engine!r}")
    requirements: dict[str, tuple[Entry, ...]] = {}
    for rid, entries in (data.get("requirements") or {}).items():
        if not isinstance(entries, list) or not entries:
            raise TemplateError(f"{path}: /requirements/{rid}: a non-empty list of entries")
        requirements[str(rid)] = tuple(_entry(e, f"{path}: /requirements/{rid}/{i}") for i, e in enumerate(entries))
    keys = []
    for index, rule in enumerate(data.get("flat_keys") or []):
        keys.append((_patterns(rule["key"], f"{path}: /flat_keys/{index}/key")[0], rule.get("negate")))
    return Templates(
        source=path, engine=str(engine), hier_config_platform=data.get("hier_config_platform"),
        rules=data.get("hier_config_rules") or {}, session=data.get("session") or {},
        parameters=data.get("parameters") or {},
        hidden_defaults=_patterns(data.get("hidden_defaults"), f"{path}: /hidden_defaults"),
        flat_keys=tuple(keys), requirements=requirements)


# --- parameters into lines ---------------------------------------------------------------------------------

class _Formatter(string.Formatter):
    """`{name}` is the parameter; `{name:minutes}` / `{name:rest_seconds}` split seconds for devices that count
    minutes (IOS exec-timeout, FortiOS admintimeout); `{name:quoted}` puts it in double quotes (FortiOS)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "minutes":
            return str(int(value) // 60)
        if format_spec == "rest_seconds":
            return str(int(value) % 60)
        if format_spec == "quoted":
            return '"' + str(value).replace('"', "") + '"'
        return str(super().format_field(value, format_spec))


_FORMATTER = _Formatter()


def _fields(texts: Sequence[str]) -> tuple[set[str], set[str]]:
    """(every parameter named, those named whole: `{log_hosts}` but not `{log_hosts[0]}`)."""
    names, whole = set(), set()
    for text in texts:
        for _, name, _, _ in _FORMATTER.parse(text):
            if name:
                base = re.split(r"[.\[]", name)[0]
                names.add(base)
                if base == name:
                    whole.add(base)
    return names, whole


def render(entry: Entry, parameters: Mapping[str, Any], where: str) -> list[Entry]:
    """The entry with its placeholders filled. A placeholder whose parameter is a list repeats the entry once per
    item (`{n}` is the item's 1-based number; `{name[0]}` takes the first item only); a missing parameter raises
    ChangeError."""
    bounds = [b for k in entry.keep for c in k.checks for b in (c.minimum, c.maximum) if b is not None]
    present = [str(entry.present)] if entry.present is not None else []
    texts = [*entry.section, *entry.lines, *bounds, *present]
    names, whole = _fields(texts)
    names.discard("n")
    whole.discard("n")
    unless_names, _ = _fields(entry.remove_unless)
    missing = sorted(n for n in names | unless_names if n not in parameters)
    if missing:
        raise ChangeError(where, f"parameter(s) {', '.join(missing)} not set (site parameters or the catalog)")
    for name in names:
        if isinstance(parameters[name], list | tuple) and not parameters[name]:
            raise ChangeError(where, f"parameter {name} is an empty list: the site must set it")
    lists = sorted(n for n in whole if isinstance(parameters[n], list | tuple))
    if len(lists) > 1:
        raise ChangeError(where, f"one template entry may repeat over one list parameter, not {', '.join(lists)}")
    rounds: list[dict[str, Any]] = [dict(parameters)]
    if lists:
        rounds = [{**parameters, lists[0]: item, "n": number}
                  for number, item in enumerate(parameters[lists[0]], start=1)]
    unless = tuple(_escaped(u, dict(parameters), item) for u in entry.remove_unless for item in _items(u, parameters))
    rendered = []
    for values in rounds:
        def fill(text: str | None, values: dict[str, Any] = values) -> str | None:
            return None if text is None else _FORMATTER.format(text, **values)

        keep = tuple(Keep(k.match, tuple(Check(c.groups, c.weights, fill(c.minimum), fill(c.maximum), c.never)
                                         for c in k.checks), k.absent) for k in entry.keep)
        rendered.append(Entry(tuple(_FORMATTER.format(s, **values) for s in entry.section), entry.within,
                              tuple(_FORMATTER.format(s, **values) for s in entry.lines), entry.remove, keep,
                              entry.edits,
                              None if entry.present is None else _escaped(entry.present, values), unless))
    return rendered


def _items(text: str, parameters: Mapping[str, Any]) -> list[tuple[str, Any] | None]:
    """The items of the one list parameter `text` names whole ([None] when it names none)."""
    _, whole = _fields([text])
    lists = [n for n in sorted(whole) if isinstance(parameters.get(n), list | tuple)]
    return [(lists[0], item) for item in parameters[lists[0]]] if lists else [None]


def _escaped(pattern: str, values: dict[str, Any], item: tuple[str, Any] | None = None) -> str:
    """A regex template filled with the values, each escaped (an address's dots match dots only)."""
    if item is not None:
        values = {**values, item[0]: item[1]}
    escaped = {k: [re.escape(str(x)) for x in v] if isinstance(v, list | tuple) else re.escape(str(v))
               for k, v in values.items()}
    return _FORMATTER.format(pattern, **escaped)


# --- secrets -----------------------------------------------------------------------------------------------

_NEGATIONS = ("no ", "unset ", "delete ")


def mask_line(line: str) -> str:
    """One configuration line with secret values masked, the negated form too (`no snmp-server community X`)."""
    indent = line[:len(line) - len(line.lstrip())]
    body = line.lstrip()
    prefix = next((p for p in _NEGATIONS if body.startswith(p)), "")
    return REDACTOR.scrub(indent + prefix + mask_config_secrets(body[len(prefix):]))


def mask_text(text: str) -> str:
    return "\n".join(mask_line(line) for line in text.split("\n"))


# --- the configuration models: hier-config and flat --------------------------------------------------------

def _drop_volatile(text: str, volatile: Sequence[re.Pattern[str]]) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [line.rstrip() for line in lines if not any(p.match(line.rstrip()) for p in volatile)]
    while kept and not kept[-1]:
        kept.pop()
    while kept and not kept[0]:
        kept.pop(0)
    return kept


def text_equal(before: str, after: str, volatile: Sequence[re.Pattern[str]]) -> tuple[bool, str]:
    """Whether two configuration texts are equal once the volatile lines are dropped, and the first difference."""
    left, right = _drop_volatile(before, volatile), _drop_volatile(after, volatile)
    if left == right:
        return True, ""
    for number, (a, b) in enumerate(zip(left, right, strict=False), start=1):
        if a != b:
            return False, f"line {number}: backup `{mask_line(a)[:80]}`, now `{mask_line(b)[:80]}`"
    longer, which = (left, "backup") if len(left) > len(right) else (right, "device now")
    extra = longer[min(len(left), len(right))]
    return False, f"only the {which} has line {min(len(left), len(right)) + 1}: `{mask_line(extra)[:80]}`"


_BANNER_START = re.compile(r"^banner\s+\S+\s+(\S+)\s*$")


def display_banners(text: str) -> str:
    """IOS-style banners in display form (`^C` alone on the closing line) whatever delimiter a text used, as
    hier-config reads them. Text without banners is returned unchanged."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        match = re.match(r"^(banner\s+(?:motd|login|exec|incoming)\s+)(\^C|\S)(.*)$", line)
        if not match:
            out.append(line)
            index += 1
            continue
        head, delimiter, rest = match.groups()
        body: list[str] = []
        if delimiter in rest:  # one-line banner: `banner motd #text#`
            body.append(rest[:rest.index(delimiter)])
            index += 1
        else:
            if rest:
                body.append(rest)
            index += 1
            while index < len(lines) and delimiter not in lines[index]:
                body.append(lines[index])
                index += 1
            if index < len(lines):
                tail = lines[index][:lines[index].index(delimiter)]
                if tail:
                    body.append(tail)
                index += 1
        out += [f"{head}^C", *body, "^C"]
    return "\n".join(out)


class HierModel:
    """hier-config with the platform's driver and the rules of remediation.yaml (`hier_config_rules`)."""

    def __init__(self, templates: Templates, volatile: Sequence[re.Pattern[str]] = ()) -> None:
        from hier_config import Platform, get_hconfig_driver
        from hier_config.models import (
            IdempotentCommandsRule,
            MatchRule,
            NegationDefaultWithRule,
            NegationSubRule,
            PerLineSubRule,
            SectionalExitingRule,
        )

        self.templates = templates
        self.volatile = tuple(volatile)
        self.driver = get_hconfig_driver(Platform[str(templates.hier_config_platform)])
        rules = templates.rules

        def matches(raw: Any) -> tuple[Any, ...]:
            return tuple(MatchRule(**m) for m in raw)

        self.driver.rules.idempotent_commands.extend(
            IdempotentCommandsRule(match_rules=matches(r)) for r in rules.get("idempotent_commands", []))
        self.driver.rules.negate_with.extend(
            NegationDefaultWithRule(match_rules=matches(r["match"]), use=r["use"])
            for r in rules.get("negate_with", []))
        self.driver.rules.negation_sub.extend(
            NegationSubRule(match_rules=matches(r["match"]), search=r["search"], replace=r["replace"])
            for r in rules.get("negation_sub", []))
        self.driver.rules.per_line_sub.extend(PerLineSubRule(**r) for r in rules.get("per_line_sub", []))
        # nested sections first: the driver takes the first rule whose lineage matches
        self.driver.rules.sectional_exiting[:0] = [
            SectionalExitingRule(match_rules=matches(r["match"]), exit_text=r["exit_text"])
            for r in rules.get("sectional_exiting", [])]

    def load(self, text: str) -> Any:
        """The configuration as hier-config reads it: without the volatile lines (headers with dates, counters:
        they are no configuration a remediation could send), banners in display form."""
        from hier_config import get_hconfig

        text = "\n".join(_drop_volatile(text, self.volatile))
        return get_hconfig(self.driver, display_banners(text) if self.templates.session.get("banners") else text)

    def intended(self, running_text: str, entries: Sequence[Entry]) -> Any:
        intended = self.load(running_text)
        for entry in entries:
            scope = intended
            for line in entry.section[:-1]:
                scope = scope.get_child(equals=line) if scope is not None else None
            if scope is not None and entry.is_present([c.text for c in scope.all_children()]):
                continue
            parent = intended
            for line in entry.section:
                found = parent.get_child(equals=line)
                parent = found if found is not None else parent.add_child(line)
            targets = [parent] if entry.within is None else [
                c for c in parent.children if entry.within.search(c.text)]
            for node in targets:
                for child in list(node.children):
                    removed = entry.removes([child.text, *(c.text for c in child.all_children())])
                    edited = None if removed else entry.edited(child.text)
                    if edited is None:
                        child.delete()
                    elif edited != child.text:
                        child.text = edited
                for line in entry.lines:
                    self._ensure(node, line, entry)
        return intended

    def _ensure(self, node: Any, line: str, entry: Entry) -> None:
        existing = node.get_child(equals=line)
        if existing is not None:
            return
        new = node.add_child(line)
        others = [c for c in node.children if c is not new]
        same = []
        while (found := self.driver.idempotent_for(new, others)) is not None:
            same.append(found)
            others.remove(found)
        if any(entry.kept(c.text) for c in same) or (not same and entry.default_kept(line)):
            new.delete()  # a line of this key (or the default) already complies, maybe stricter: it stays
            return
        for found in same:
            found.delete()
        if any(p.fullmatch(line) for p in self.templates.hidden_defaults):
            new.delete()  # the device's default: intended is the keyed line gone (the device then hides it)

    def remediation(self, running_text: str, intended: Any) -> list[str]:
        """The lines that take the running configuration to `intended`, in order, indented, with section exits."""
        from hier_config import WorkflowRemediation

        workflow = WorkflowRemediation(self.load(running_text), intended)
        return list(workflow.remediation_config.lines(sectional_exiting=True))

    def between(self, running_text: str, wanted_text: str) -> list[str]:
        return self.remediation(running_text, self.load(wanted_text))


class FlatModel:
    """A flat configuration (RTX): top-level lines, each a command; a line's key (remediation.yaml `flat_keys`,
    else the whole line) says which line it replaces; `no <line>` (or the key's `negate`) removes one. Indented
    lines (a `pp select` / `tunnel select` context) are kept as they are and never changed."""

    def __init__(self, templates: Templates, volatile: Sequence[re.Pattern[str]] = ()) -> None:
        self.templates = templates
        self.volatile = tuple(volatile)

    def _lines(self, text: str) -> list[str]:
        return [line for line in _drop_volatile(text, self.volatile)
                if line.strip() and not line.startswith((" ", "\t", "#"))]

    def key(self, line: str) -> str:
        for pattern, _ in self.templates.flat_keys:
            match = pattern.search(line)
            if match:
                return "|".join(g or "" for g in match.groups()) if match.groups() else match.group(0)
        return line

    def negate(self, line: str) -> str:
        for pattern, negate in self.templates.flat_keys:
            match = pattern.search(line)
            if match and negate:
                return match.expand(negate)
        return f"no {line}"

    def intended(self, running_text: str, entries: Sequence[Entry]) -> list[str]:
        lines = self._lines(running_text)
        for entry in entries:
            if entry.section or entry.within:
                raise ChangeError(str(self.templates.source), "a flat configuration has no sections")
            if entry.is_present(lines):
                continue
            lines = [edited for x in lines if not entry.removes([x]) if (edited := entry.edited(x)) is not None]
            for line in entry.lines:
                same = [x for x in lines if self.key(x) == self.key(line)]
                if line in lines or any(entry.kept(x) for x in same) or (not same and entry.default_kept(line)):
                    continue
                lines = [x for x in lines if self.key(x) != self.key(line)]
                if not any(p.fullmatch(line) for p in self.templates.hidden_defaults):
                    lines.append(line)
        return lines

    def remediation(self, running_text: str, intended: list[str]) -> list[str]:
        running = self._lines(running_text)
        wanted_keys = {self.key(x) for x in intended}
        removals = [self.negate(x) for x in running if x not in intended and self.key(x) not in wanted_keys]
        return removals + [x for x in intended if x not in running]

    def between(self, running_text: str, wanted_text: str) -> list[str]:
        return self.remediation(running_text, self._lines(wanted_text))


def model(templates: Templates, volatile: Sequence[re.Pattern[str]] = ()) -> HierModel | FlatModel:
    """The diff engine of a template file, reading configurations without the platform's volatile lines."""
    return HierModel(templates, volatile) if templates.engine == "hier_config" else FlatModel(templates, volatile)


# --- the mixin ---------------------------------------------------------------------------------------------

class ApplyFailure(Exception):
    """Why an apply stopped (one line, no secret): the rollback follows."""


def _groups(lines: Sequence[str], session: Mapping[str, Any]) -> list[list[str]]:
    """The remediation lines as send groups: one line each, a multi-line banner as one group with a delimiter
    the device reads (remediation.yaml session.banners: display form and the delimiters to choose from)."""
    banners = session.get("banners") or {}
    groups: list[list[str]] = []
    for line in lines:
        text = line.strip()
        if "\n" in text and banners:
            parts = text.split("\n")
            body = "\n".join(parts[1:-1])
            delimiter = next((d for d in banners["send"] if d not in body), None)
            if delimiter is None:
                raise ApplyFailure("no banner delimiter is free of the banner text")
            display = str(banners["display"])
            head = parts[0][:-len(display)] if parts[0].endswith(display) else parts[0]
            groups.append([head + delimiter, *parts[1:-1], delimiter])
        else:
            groups.extend([[part] for part in text.split("\n") if part])
    return groups


def default_remediation_file(cls: type) -> Path:
    """`remediation.yaml` in the package of the module that defines `cls` (platforms/<name>/remediation.yaml)."""
    module = sys.modules.get(cls.__module__)
    source = getattr(module, "__file__", None)
    if not source:
        raise TemplateError(f"{cls.__qualname__}: its module {cls.__module__} has no file; set remediation_file")
    return Path(source).with_name("remediation.yaml")


class NetworkRemediator:
    """Plan and apply for a netmiko platform (see the module docstring). Mix in before NetmikoCapturePlatform."""

    remediation_file: ClassVar[Path]
    fixes: ClassVar[frozenset[str]] = frozenset()
    # What NetmikoCapturePlatform provides (declared for the type checker).
    data_file: ClassVar[Path]
    running_command: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "remediation_file", None) is None:   # the first platform class: its package's file
            cls.remediation_file = default_remediation_file(cls)
        if "remediation_file" in cls.__dict__:
            cls.fixes = frozenset(load_templates(cls.remediation_file).requirements)

    if TYPE_CHECKING:  # the platform's session, from NetmikoCapturePlatform (the mixin must not shadow it)
        def connect(self, target: Target) -> Any: ...

        def run_command(self, connection: Any, target: Target, command: str) -> str: ...

    # -- data ----------------------------------------------------------------------------------------------

    @classmethod
    def templates(cls) -> Templates:
        return load_templates(cls.remediation_file)

    @classmethod
    def volatile_lines(cls) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in load_platform_data(cls.data_file).get("volatile_lines") or []]

    @classmethod
    def error_markers(cls) -> list[re.Pattern[str]]:
        """The CLI's rejections: platform.yaml's `error_markers` and those remediation.yaml adds for configuration
        mode (a line matching any of them in a command's answer is a rejection)."""
        markers = [*(load_platform_data(cls.data_file).get("error_markers") or []),
                   *(cls.templates().session.get("error_markers") or [])]
        return [re.compile(p, re.M) for p in dict.fromkeys(markers)]

    def _entries(self, host: str, fix: Sequence[str], parameters: Mapping[str, Any]) -> list[Entry]:
        templates = self.templates()
        values = {**templates.parameters, **parameters}
        entries: list[Entry] = []
        for rid in fix:
            if rid not in templates.requirements:
                raise ChangeError(host, f"{rid}: no template in {templates.source.name}")
            for entry in templates.requirements[rid]:
                entries += render(entry, values, host)
        return entries

    def remediation(self, host: str, running: str, fix: Sequence[str], parameters: Mapping[str, Any]) -> list[str]:
        """The lines (indented, with section exits) that take `running` to running + the templates of `fix`."""
        engine = model(self.templates(), self.volatile_lines())
        return engine.remediation(running, engine.intended(running, self._entries(host, fix, parameters)))

    def changes(self, host: str, running: str, fix: Sequence[str], parameters: Mapping[str, Any]) -> list[Change]:
        """One Change per requirement whose template changes the configuration: its exact lines, secrets masked."""
        found = []
        for rid in fix:
            lines = self.remediation(host, running, [rid], parameters)
            if lines:
                found.append(Change(rid, f"{rid}: configuration lines", RUNNING_TARGET,
                                    mask_text("\n".join(lines)) + "\n"))
        return found

    # -- plan ----------------------------------------------------------------------------------------------

    def plan(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any]) -> list[Change]:
        """The changes that would make `fix` pass, from the running configuration; changes nothing.
        Raises CollectionError subclasses (the session) or ChangeError (templates, parameters)."""
        if not fix:
            return []
        connection = self.connect(target)
        try:
            running = self.run_command(connection, target, self.running_command)
        finally:
            disconnect(connection)
        return self.changes(target.host.name, running, fix, parameters)

    # -- apply ---------------------------------------------------------------------------------------------

    def apply(self, target: Target, fix: Sequence[str], parameters: Mapping[str, Any],
              planned: Sequence[Change]) -> ApplyResult:
        """Back up, check the remediation is the approved one, send it line by line, save; on any failure
        restore the prior configuration and prove it text-equal. Never raises for a failure on the host."""
        host = target.host.name
        result = ApplyResult(host)
        if not fix:
            return result
        try:
            connection = self.connect(target)
        except (CollectionError, HardeningError) as exc:
            result.refuse(REDACTOR.scrub(f"no session, nothing applied: {exc}")[:500])
            return result
        session = _Session(self, target, connection)
        try:
            prior = self._prepare(session, fix, parameters, planned, result)
            if prior is None:
                return result
            lines = self.remediation(host, prior, fix, parameters)
            try:
                session.send(lines)
                session.run_all("save")
            except Exception as exc:  # any failure on the host: restore and prove
                result.failed = _reason(exc)
                self._roll_back(session, prior, result)
                return result
            result.applied = self.changes(host, prior, fix, parameters)
            session.cleanup()
            return result
        except Exception as exc:  # a failure before anything was sent (or in the rollback's own bookkeeping)
            result.failed = result.failed or _reason(exc)
            return result
        finally:
            disconnect(session.connection)

    def _prepare(self, session: _Session, fix: Sequence[str], parameters: Mapping[str, Any],
                 planned: Sequence[Change], result: ApplyResult) -> str | None:
        """Back up the running configuration (file, and on the device) and check it still gives the approved
        changes. The prior configuration text, or None with `result.failed` set (nothing applied)."""
        host = session.target.host.name
        try:
            prior = session.running()
            _save_backup(session.target, self.running_command, prior)
        except Exception as exc:
            result.refuse(f"backup before the change failed, nothing applied: {_reason(exc)}")
            return None
        try:
            now = self.changes(host, prior, fix, parameters)
        except HardeningError as exc:
            result.refuse(f"remediation could not be computed, nothing applied: {_reason(exc)}")
            return None
        wanted = {c.requirement: c.diff for c in planned if c.requirement in fix}
        got = {c.requirement: c.diff for c in now}
        if wanted != got:
            differing = sorted(r for r in set(wanted) | set(got) if wanted.get(r) != got.get(r))
            result.refuse(f"the remediation differs from the approved plan for {', '.join(differing)}: "
                             "the device changed since planning; nothing applied, make a new plan")
            return None
        try:
            session.run_all("backup")  # the on-device copy (IOS flash:) the device's own restore reads
        except Exception as exc:
            result.refuse(f"backup before the change failed, nothing applied: {_reason(exc)}")
            session.cleanup()
            return None
        return prior

    def _roll_back(self, session: _Session, prior: str, result: ApplyResult) -> None:
        """Restore `prior` by each method remediation.yaml lists (session.restore: `replace` = the device's
        commands, `reverse` = the reverse remediation) until the running configuration is proven text-equal to
        it; then save. Sets rolled_back / rollback_problems."""
        volatile = self.volatile_lines()
        problems: list[str] = []
        # the reverse remediation is retried (a fresh session each time, computed from what the device has then):
        # a flaky link may drop the restore's session too
        methods = [m for m in self.templates().session.get("restore_methods") or ["reverse"]
                   for _ in range(int(self.templates().session.get("restore_attempts", 2)) if m == "reverse" else 1)]
        for method in methods:
            try:
                session.fresh()
                if method == "replace":
                    session.run_all("restore")
                else:
                    engine = model(self.templates(), self.volatile_lines())
                    session.send(engine.between(session.running(), prior))
                equal, difference = text_equal(prior, session.running(), volatile)
            except Exception as exc:
                problems.append(f"{method}: {_reason(exc)}")
                continue
            if equal:
                try:
                    session.run_all("save")
                except Exception as exc:
                    problems.append(f"restored and proven equal, but saving failed: {_reason(exc)}")
                    result.rollback_problems = problems
                    return
                result.rolled_back = True
                result.rollback_problems = []
                session.cleanup()
                return
            problems.append(f"{method}: the running configuration is not text-equal to the backup ({difference})")
        result.rollback_problems = problems or ["no restore method"]


class _Session:
    """One apply's session: the connection (reopened when lost), the platform's session data."""

    def __init__(self, platform: NetworkRemediator, target: Target, connection: Any) -> None:
        self.platform = platform
        self.target = target
        self.connection = connection
        self.data = platform.templates().session
        self.markers = platform.error_markers()
        self.backup_name = _backup_name(target)

    def running(self) -> str:
        return self.platform.run_command(self.connection, self.target, self.platform.running_command)

    def fresh(self) -> None:
        """A new session for the restore. The old one is not trusted whatever it says: after a failure it may sit
        in configuration mode or a banner, and a channel the device closed can still look alive (its SSH
        transport is up), so reading from it would only wait for the timeout."""
        disconnect(self.connection)
        self.connection = self.platform.connect(self.target)

    def _check(self, output: str, what: str) -> None:
        for marker in self.markers:
            match = marker.search(output or "")
            if match:  # the whole line of the answer the marker is in
                start = output.rfind("\n", 0, match.start()) + 1
                end = output.find("\n", match.end())
                answer = output[start:end if end >= 0 else len(output)].strip()
                raise ApplyFailure(f"the device rejected `{mask_line(what)[:120]}`: {mask_line(answer)[:160]}")

    def send(self, lines: Sequence[str]) -> None:
        """The lines in configuration mode, one send per line (a banner as one), every answer checked."""
        groups = _groups(lines, self.data)
        if not groups:
            return
        if self.data.get("config_mode"):
            self.connection.config_mode()
        for group in groups:
            output = self.connection.send_config_set(group, enter_config_mode=False, exit_config_mode=False,
                                                     read_timeout=float(self.data.get("read_timeout", 30)))
            self._check(str(output), group[0])
        if self.data.get("config_mode"):
            self.connection.exit_config_mode()

    def cleanup(self) -> None:
        """Remove the on-device copy once it is no longer needed (a failure here changes no verdict)."""
        try:
            self.run_all("cleanup")
        except Exception as exc:
            LOG.warning("%s: the on-device backup copy was not removed: %s", self.target.host.name, _reason(exc))

    def run_all(self, step: str) -> None:
        """The commands of a session step (backup, restore, save) with their confirmation answers."""
        for item in self.data.get(step) or []:
            command = str(item["command"]).format(backup_name=self.backup_name)
            output = str(self.connection.send_command_timing(command, strip_prompt=False, strip_command=False,
                                                             read_timeout=float(item.get("read_timeout", 60))))
            for _ in range(4):
                answer = next((a for a in item.get("answers") or [] if re.search(a["prompt"], output.rstrip())),
                              None)
                if answer is None:
                    break
                output = str(self.connection.send_command_timing(
                    str(answer["answer"]), strip_prompt=False, strip_command=False,
                    read_timeout=float(item.get("read_timeout", 60))))
            self._check(output, command)


def _backup_name(target: Target) -> str:
    """The name of the on-device copy: one per run and host (derived from the run's backup file)."""
    seed = str(target.backup_file or f"{target.host.name}-{dt.datetime.now(dt.UTC).isoformat()}")
    return f"hardening-{hashlib.sha256(seed.encode()).hexdigest()[:12]}.cfg"


def _save_backup(target: Target, command: str, text: str) -> None:
    if target.backup_file is None:
        return
    from hardening.report.files import atomic_write

    target.backup_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(target.backup_file, json.dumps({
        "host": target.host.name, "command": command,
        "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "running": text}))


def _reason(exc: BaseException) -> str:
    """One line, no secret: a session failure as the collection error it is (timeout, lost session …)."""
    if not isinstance(exc, ApplyFailure | HardeningError):
        try:
            exc = map_error("device", exc, "session")
        except Exception:  # netmiko/paramiko not importable: the exception's own words
            exc = ApplyFailure(f"{type(exc).__name__}: {exc}")
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.removeprefix("device: ").split(" Things you might try")[0]  # netmiko's advice is not a reason
    return REDACTOR.scrub(mask_line(text))[:500]


def lines_of(changes: Sequence[Change]) -> Iterator[str]:
    """Every line of the changes (for tests and review tools)."""
    for change in changes:
        yield from change.diff.splitlines()
