"""The requirement catalog (schemas/requirements/*.json) checked as data, without the package.

Every test here reads only the catalog, its meta-schema, the facts schema, the policy text,
inventory/site.yaml and the example facts under fixtures/catalog/, so an auditor can run it against the
files alone.
"""

from __future__ import annotations

import copy
import json
import re
import string
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from hardening.core.catalog import load_catalog, load_requirement
from hardening.core.errors import CatalogError
from hardening.core.platform import Remediator, get_platform, known_platforms
from hardening.core.schemas import offline_validator

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = ROOT / "schemas" / "requirements"
META_SCHEMA = ROOT / "schemas" / "requirement.meta.schema.json"
FACTS_SCHEMA = ROOT / "schemas" / "facts.schema.json"
POLICY = ROOT / "docs" / "policy" / "sakado-security-policy-R5.txt"
SITE = ROOT / "inventory" / "site.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "catalog"
DOC = ROOT / "docs" / "catalog.md"
LINUX_FIX_CONTENT = [ROOT / "playbooks" / "linux.yml", *sorted((ROOT / "tasks").glob("*.yml"))]
# Words that name a Linux file, tool or package: they belong under platforms.linux, never in the intent.
LINUX_WORDS = re.compile(r"/etc/|/usr/|/var/|apt-get|systemd|sshd|pam_|PAM|chrony|ntpd|rsyslog|journald|logrotate|"
                         r"dconf|GNOME|GDM|modprobe|clamav|freshclam|LUKS|cryptsetup|faillock|pwquality|login\.defs|"
                         r"TMOUT|inetd|snmpd|sudo|yescrypt|Linux")

# The lab plants drifts under these ids: a rename here breaks the lab, so the set is pinned.
EXPECTED_IDS = {
    "PW-LEN",
    "PW-CLASS",
    "LOGIN-LOCKOUT",
    "LOGIN-BANNER",
    "LOGIN-TIMEOUT",
    "LOGIN-LASTLOGON",
    "PRIV-REMOTE-ROOT",
    "PORTS-CLOSED",
    "SVC-MINIMAL",
    "TIME-SYNC",
    "LOG-FORWARD",
    "LOG-RETENTION",
    "USB-BLOCK-KIKAN",
    "SCREEN-LOCK",
    "BOOT-PW",
    "DISK-ENC",
    "AV-RESIDENT",
    "AV-SIG-CURRENT",
    "MGMT-SECURE-PROTOCOLS",
    "PW-STORE-PROTECT",
    "LOG-TIMESTAMPS",
    "PRIV-RENAME",
    "FW-ACCESS-CONTROL",
    "PW-VENDOR-DEFAULT",
    "MFP-STORAGE",
    "MFP-ERASE",
    "PATCH-SLA",
}

FILES = sorted(CATALOG_DIR.glob("*.json"))
FILE_IDS = [p.stem for p in FILES]


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = _load_json(path)
    return document


def _meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = _document(path)["x-hardening"]
    return meta


def _texts(meta: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Every human text of a requirement with placeholders, by where it stands (platform texts included)."""
    texts = {key: meta[key] for key in ("expected", "remediation", "title", "rationale")}
    for platform, entry in meta["platforms"].items():
        if "remediation" in entry:
            texts[f"platforms/{platform}/remediation"] = entry["remediation"]
    return texts


def _linux_fix_tags() -> set[str]:
    """The requirement ids the Linux playbook and its task files tag tasks with."""
    tags: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("tags"), list):
                tags.update(tag for tag in node["tags"] if isinstance(tag, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in LINUX_FIX_CONTENT:
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return tags


def _declared_fixes(platform: str) -> set[str]:
    """The requirement ids a network platform's remediation declares it fixes (Remediator.fixes)."""
    driver = get_platform(platform)
    return set(driver.fixes) if isinstance(driver, Remediator) else set()


# Where each platform's automated fixes live, as the requirement ids they are tagged with. A platform that claims an
# automated fix in the catalog must be listed here, so that the claim is checked against real content.
FIX_CONTENT = {"linux": _linux_fix_tags, **{name: (lambda name=name: _declared_fixes(name))
                                            for name in ("cisco_ios", "yamaha_rtx", "fortios", "windows", "mfp")}}

# Issue 8 lands in parallel branches: the catalog already names the network platforms, while their packages
# (yamaha_rtx, fortios) and their remediation (all three) are other branches' work. Until a platform is
# registered here, the checks that need its package are skipped with this reason, and until it is a Remediator its
# automated-fix claims are; test_pending_platforms_are_still_pending fails as soon as one has landed, so that its
# entry is removed and the full check applies.
# Issue 9 the same way: the catalog names `windows` while its package (winplat) and remediation (winchange) are
# parallel branches.
# Issue 10's `mfp` package has landed (helper mfpplat).
PENDING_PACKAGE: set[str] = set()
# Platforms whose facts include the ones the server rule reads (see TestRequirement._check_fail_closed). Printers
# too: their MGMT-SECURE-PROTOCOLS and LOG-FORWARD rules add to the rule every host gets
# (tests/unit/test_catalog_mfp.py checks that the tool gives `error` without /os/family).
SERVER_FACTS_TOO = {"windows", "mfp"}
PENDING_REMEDIATION: set[str] = set()


def _skip_if_pending(platform: str, remediation: bool = False) -> None:
    if platform in PENDING_PACKAGE and platform not in known_platforms():
        pytest.skip(f"platform {platform} is not registered in this checkout yet (issue 8 or 9, parallel branch)")
    if remediation and platform in PENDING_REMEDIATION and not isinstance(get_platform(platform), Remediator):
        pytest.skip(f"platform {platform} has no remediation in this checkout yet (issue 8 or 9, parallel branch)")


def _automation_cell(meta: dict[str, Any]) -> str:
    """The doc table's last cell: per platform, check / fix as they apply there."""
    cells = []
    for platform, entry in sorted(meta["platforms"].items()):
        automation = entry.get("automation", {"check": "automated", "fix": "none"})
        cells.append(f"{platform}: {automation['check']} / {automation['fix']}")
    return "<br>".join(cells)


def _body(path: Path) -> dict[str, Any]:
    return {k: v for k, v in _document(path).items() if k != "x-hardening"}


def _fact_lists(meta: dict[str, Any]) -> dict[str, list[str]]:
    """Every list of facts the requirement reads: its own (`*`) and each platform's own `facts`."""
    lists = {"*": meta["facts"]}
    lists.update({platform: entry["facts"] for platform, entry in meta["platforms"].items() if "facts" in entry})
    return lists


def _branches(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The subschemas that apply to the same instance: allOf items and the if/then/else branches."""
    return [*node.get("allOf", []), *(node[k] for k in ("if", "then", "else") if isinstance(node.get(k), dict))]


@cache
def _facts_schema() -> dict[str, Any]:
    schema: dict[str, Any] = _load_json(FACTS_SCHEMA)
    return schema


@cache
def _policy_lines() -> tuple[str, ...]:
    return tuple(POLICY.read_text(encoding="utf-8").split("\n"))


def _param_refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"$param"}:
            return {node["$param"]}
        return set().union(set(), *(_param_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(set(), *(_param_refs(v) for v in node))
    return set()


def _substitute(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"$param"}:
            return copy.deepcopy(values[node["$param"]])
        return {k: _substitute(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    return node


def _union(mapping: dict[str, list[Any]], roles: list[str]) -> list[Any]:
    merged: list[Any] = []
    for role in roles:
        for item in mapping.get(role, []) or []:
            if item not in merged:
                merged.append(item)
    return merged


def _resolve(
    meta: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    roles: list[str] | None = None,
    all_roles: bool = False,
) -> dict[str, Any]:
    """Parameter values: defaults < overrides; per_role mappings -> union over base + roles (or all roles)."""
    values: dict[str, Any] = {}
    for name, spec in meta["parameters"].items():
        value = (overrides or {}).get(name, spec["default"])
        if spec.get("per_role"):
            value = _union(value, list(value) if all_roles else ["base", *(roles or [])])
        values[name] = value
    return values


# ------------------------------------------------------------------------------------ clause structure

_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳㉑㉒㉓㉔㉕㉖㉗㉘㉙㉚㉛㉜㉝㉞㉟"


def _clause_per_line(lines: tuple[str, ...]) -> list[str | None]:
    """The clause number in force on each line of the policy text, as the catalog writes it.

    Headings: 第N章, section "6 …", "(2) …", circled ①, katakana "ア …", "(ア) …"; a deeper level resets
    below it. The table of contents (tab + page number) is skipped. In 第3章 the template procedure after
    "【…編】" has its own numbering, written "第3章 1 3(4)③". Lines that start with none of these
    (continuations after a page break) keep the clause of the line before.
    """
    out: list[str | None] = []
    chapter: str | None = None
    section = template = sub = circled = kana = kana2 = None
    in_body = in_template = False
    for raw in lines:
        line = raw.strip()
        if line.startswith("- "):
            line = line[2:].strip()
        if re.match(r"^第[1-4]章 ", line) and "\t" not in line:
            in_body = in_body or line.startswith("第1章")
            chapter, section, template, sub, circled, kana, kana2 = (
                line[1],
                None,
                None,
                None,
                None,
                None,
                None,
            )
            in_template = False
        elif not in_body:
            pass
        elif chapter == "3" and line.startswith("【"):
            in_template = True
        elif m := re.match(r"^([0-9]+) \S", line):
            if in_template:
                template = m.group(1)
            else:
                section = m.group(1)
            sub = circled = kana = kana2 = None
        elif m := re.match(r"^\(([0-9]+)\) ?\S", line):
            sub, circled, kana, kana2 = m.group(1), None, None, None
        elif line[:1] and line[0] in _CIRCLED:
            circled, kana, kana2 = line[0], None, None
        elif m := re.match(r"^([ア-ン])[ 、]", line):
            kana, kana2 = m.group(1), None
        elif m := re.match(r"^\(([ア-ン])\)", line):
            kana2 = m.group(1)
        if not in_body or chapter is None:
            out.append(None)
            continue
        clause = f"第{chapter}章"
        clause += f" {section}" if section else ""
        clause += f" {template}" if template else ""
        clause += f"({sub})" if sub else ""
        clause += circled or ""
        clause += kana or ""
        clause += f"({kana2})" if kana2 else ""
        out.append(clause)
    return out


# ------------------------------------------------------------------------------ the catalog as a whole


def test_catalog_has_the_pinned_ids() -> None:
    assert FILES, f"no requirement files in {CATALOG_DIR}"
    missing = EXPECTED_IDS - set(FILE_IDS)
    assert not missing, f"requirements missing from the catalog: {sorted(missing)}"


def test_meta_schema_is_a_valid_schema() -> None:
    Draft202012Validator.check_schema(_load_json(META_SCHEMA))


def test_meta_schema_device_classes_match_facts_schema() -> None:
    meta_enum = _load_json(META_SCHEMA)["$defs"]["device_class"]["enum"]
    facts_enum = _facts_schema()["$defs"]["device_class"]["enum"]
    assert sorted(meta_enum) == sorted(facts_enum)


def test_ids_are_unique() -> None:
    ids = [_meta(p)["id"] for p in FILES]
    assert len(ids) == len(set(ids)), f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}"
    folded = [i.casefold() for i in ids]
    assert len(folded) == len(set(folded)), "ids differ only by case"


def test_shared_parameter_names_mean_the_same() -> None:
    """site.yaml sets a parameter once by name for every requirement that declares it."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in FILES:
        for name, spec in _meta(path)["parameters"].items():
            shape = {k: spec.get(k) for k in ("schema", "default", "basis", "per_role")}
            if name in seen:
                other, other_shape = seen[name]
                assert shape == other_shape, f"parameter {name!r} differs between {other} and {path.stem}"
            else:
                seen[name] = (path.stem, shape)


def test_site_parameters_are_declared_and_valid() -> None:
    site = yaml.safe_load(SITE.read_text(encoding="utf-8"))
    specs = {name: spec for path in FILES for name, spec in _meta(path)["parameters"].items()}
    for name, value in (site.get("parameters") or {}).items():
        assert name in specs, f"site.yaml parameter {name!r} is not declared by any requirement"
        spec = specs[name]
        validator = Draft202012Validator(spec["schema"])
        if spec.get("per_role"):
            assert isinstance(value, dict), f"{name}: per-role parameter must be a mapping role -> value"
            for role, role_value in value.items():
                errors = [e.message for e in validator.iter_errors(role_value)]
                assert not errors, f"site.yaml {name}/{role}: {errors}"
        else:
            errors = [e.message for e in validator.iter_errors(value)]
            assert not errors, f"site.yaml {name}: {errors}"


def test_every_requirement_has_examples_and_no_stray_examples() -> None:
    fixture_ids = {p.stem for p in FIXTURES.glob("*.json")}
    assert fixture_ids == set(FILE_IDS), (
        f"without examples: {sorted(set(FILE_IDS) - fixture_ids)}; examples without requirement: "
        f"{sorted(fixture_ids - set(FILE_IDS))}"
    )


def test_doc_table_lists_every_requirement() -> None:
    """docs/catalog.md has one table row per requirement, with its clause, device classes and automation."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in FILE_IDS:
            rows[cells[0]] = cells
    assert set(rows) == set(FILE_IDS), f"not in docs/catalog.md: {sorted(set(FILE_IDS) - set(rows))}"
    for path in FILES:
        meta, row = _meta(path), rows[path.stem]
        assert row[1] == meta["clause"], f"{path.stem}: clause {row[1]!r} in the doc"
        assert row[4] == ", ".join(meta["device_classes"]), f"{path.stem}: device classes in the doc"
        assert row[-1] == _automation_cell(meta), f"{path.stem}: automation per platform"


def test_clause_parser_finds_known_clauses() -> None:
    """Guards the parser used by test_clause_matches_where_the_quote_is: a few lines with known numbers."""
    lines = _policy_lines()
    clauses = _clause_per_line(lines)

    def at(fragment: str) -> str | None:
        return next(clauses[i] for i, line in enumerate(lines) if fragment in line)

    assert at("使用されていないポートを閉鎖") == "第2章 6(5)①ア"
    assert at("特権を付与された ID を初期設定以外") == "第2章 6(2)①ウ(カ)"
    assert at("重要なログ等を取得するサーバの正確な時刻設定") == "第2章 7(1)イ"
    assert at("割り当てられたIDを利用すること") == "第3章 1 3(4)①"
    assert at("ログイン時におけるメッセージ") == "第2章 6(2)③"


# ------------------------------------------------------------------------------------ each requirement


@pytest.mark.parametrize("path", FILES, ids=FILE_IDS)
class TestRequirement:
    def test_validates_against_meta_schema(self, path: Path) -> None:
        validator = Draft202012Validator(_load_json(META_SCHEMA))
        errors = [
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_document(path))
        ]
        assert not errors, "\n".join(errors)

    def test_id_is_the_file_name(self, path: Path) -> None:
        assert _meta(path)["id"] == path.stem
        assert _document(path)["$id"].endswith(f"/requirements/{path.stem}.json")
        assert _document(path)["title"].startswith(f"{path.stem} ")

    def test_quote_is_verbatim_within_one_line(self, path: Path) -> None:
        quote = _meta(path)["quote_ja"]
        assert quote in POLICY.read_text(encoding="utf-8"), f"not in the policy text: {quote!r}"
        assert any(quote in line for line in _policy_lines()), f"spans a line break: {quote!r}"

    def test_clause_matches_where_the_quote_is(self, path: Path) -> None:
        lines = _policy_lines()
        clauses = _clause_per_line(lines)
        meta = _meta(path)
        for ref in [meta, *meta.get("related", [])]:  # the main clause and each related one
            found = {clauses[i] for i, line in enumerate(lines) if ref["quote_ja"] in line}
            where = sorted(map(str, found))
            assert ref["clause"] in found, f"clause {ref['clause']} but the quote stands under {where}"

    def test_related_quotes_are_verbatim_within_one_line(self, path: Path) -> None:
        for ref in _meta(path).get("related", []):
            assert any(ref["quote_ja"] in line for line in _policy_lines()), f"not on one policy line: {ref!r}"
            assert ref["clause"] != _meta(path)["clause"], "a related clause repeats the main one"

    def test_parameter_defaults_validate_against_their_schema(self, path: Path) -> None:
        for name, spec in _meta(path)["parameters"].items():
            Draft202012Validator.check_schema(spec["schema"])
            validator = Draft202012Validator(spec["schema"])
            values = list(spec["default"].values()) if spec.get("per_role") else [spec["default"]]
            for value in values:
                errors = [e.message for e in validator.iter_errors(value)]
                assert not errors, f"default of {name!r}: {errors}"

    def test_parameters_are_declared_and_used(self, path: Path) -> None:
        declared = set(_meta(path)["parameters"])
        used = _param_refs(_body(path))
        assert used <= declared, f"undeclared: {sorted(used - declared)}"
        assert declared <= used, f"declared but not used in the schema: {sorted(declared - used)}"
        assert not _param_refs(_meta(path)), "$param belongs in the schema body, not in x-hardening"

    @pytest.mark.parametrize("per_role", ["union-of-all-roles", "base-only", "empty"])
    def test_schema_is_valid_after_substitution(self, path: Path, per_role: str) -> None:
        meta = _meta(path)
        values = _resolve(meta, all_roles=per_role == "union-of-all-roles")
        if per_role == "empty":
            values.update({n: [] for n, spec in meta["parameters"].items() if spec.get("per_role")})
        body = _substitute(_body(path), values)
        assert not _param_refs(body)
        Draft202012Validator.check_schema(body)

    def test_fact_pointers_exist_in_facts_schema(self, path: Path) -> None:
        facts = _facts_schema()["properties"]["facts"]
        for pointer in {p for pointers in _fact_lists(_meta(path)).values() for p in pointers}:
            node = facts
            for part in pointer.strip("/").split("/"):
                properties = node.get("properties", {})
                assert part in properties, f"{pointer}: no {part!r} in facts.schema.json"
                node = properties[part]

    def test_fact_pointers_are_required_by_the_schema(self, path: Path) -> None:
        """A missing fact fails even in a plain validator (fail closed), not only in the tool's evaluator: every
        pointer is `required` at each step of its path, in the schema itself or (for a rule that differs per OS
        family) in one of its if/then/else branches. The discriminator a platform lists (/os/family) selects the
        branch: without it, the other branch's facts are missing, so the document fails too."""
        meta = _meta(path)

        def required(node: dict[str, Any], parts: list[str]) -> bool:
            if not parts:
                return True
            if parts[0] in node.get("required", []) and required(node["properties"][parts[0]], parts[1:]):
                return True
            return any(required(branch, parts) for branch in _branches(node) if branch is not node.get("if"))

        for pointer in {p for pointers in _fact_lists(meta).values() for p in pointers}:
            if pointer == "/os/family" and "if" in _body(path):
                continue
            assert required(_body(path), pointer.strip("/").split("/")), f"{pointer}: not required along its path"

    def test_schema_only_constrains_listed_facts(self, path: Path) -> None:
        """Every leaf the schema reaches through `properties` is (under) a listed fact pointer."""
        listed = [p for pointers in _fact_lists(_meta(path)).values() for p in pointers]

        def leaves(node: dict[str, Any], prefix: str) -> list[str]:
            props = node.get("properties")
            found = [leaf for key, sub in (props or {}).items() for leaf in leaves(sub, f"{prefix}/{key}")]
            found += [leaf for branch in _branches(node) for leaf in leaves(branch, prefix)]
            return found or [prefix]

        for leaf in leaves(_body(path), ""):
            assert any(leaf == p or leaf.startswith(p + "/") for p in listed), f"{leaf} is checked but not in facts"

    def test_text_placeholders_are_parameters(self, path: Path) -> None:
        meta = _meta(path)
        values = _resolve(meta, all_roles=True)
        for key, texts in _texts(meta).items():
            for lang, text in texts.items():
                fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
                assert fields <= set(meta["parameters"]), f"{key}.{lang}: unknown placeholder(s) {fields}"
                text.format(**values)
                assert "{{" not in text, f"{key}.{lang}: templating beyond str.format"
                assert "{%" not in text, f"{key}.{lang}: templating beyond str.format"

    def test_examples(self, path: Path) -> None:
        meta = _meta(path)
        cases = _load_json(FIXTURES / f"{path.stem}.json")
        assert cases.get("compliant"), "needs at least one compliant example"
        assert cases.get("drifted"), "needs at least one drifted example"
        facts_validator = Draft202012Validator(
            {"$ref": _facts_schema()["$id"] + "#/properties/facts"},
            registry=Registry().with_resource(_facts_schema()["$id"], Resource.from_contents(_facts_schema())),
        )
        for kind in ("compliant", "drifted"):
            for case in cases[kind]:
                label = f"{kind} example {case['name']!r}"
                bad_facts = [e.message for e in facts_validator.iter_errors(case["facts"])]
                assert not bad_facts, f"{label} is not valid facts: {bad_facts}"
                values = _resolve(meta, case.get("params"), case.get("roles"))
                schema = _substitute(_body(path), values)
                errors = list(offline_validator(schema).iter_errors(case["facts"]))
                where = sorted({"/" + "/".join(map(str, e.absolute_path)) for e in errors})
                if kind == "compliant":
                    assert not errors, f"{label} fails at {where}: {[e.message for e in errors]}"
                    self._check_fail_closed(meta, schema, case, label)
                else:
                    assert errors, f"{label} passes"
                    assert case["pointer"] in where, f"{label} fails at {where}, expected at {case['pointer']}"

    @staticmethod
    def _check_fail_closed(meta: dict[str, Any], schema: dict[str, Any], case: dict[str, Any], label: str) -> None:
        """A compliant example has every fact its platform reads (`platform`, else the requirement's `facts`), and
        without any one of them a plain validator fails: the per-platform facts and the schema agree."""
        platform = case.get("platform")
        if platform is not None:
            assert platform in meta["platforms"], f"{label}: platform {platform} is not named by the requirement"
        pointers = meta["platforms"].get(platform, {}).get("facts", meta["facts"])
        for pointer in pointers:
            if pointer == "/os/family" and platform in SERVER_FACTS_TOO:
                # Such a platform's facts include the ones the server rule reads, and its own rule is at least as
                # strict (Windows' length ceiling, lockout window, W32Time source …): without the family a plain
                # validator judges the document by the server rule, which it may meet. The tool reads /os/family on
                # that platform and gives `error` without it (tests/unit/test_catalog_windows.py checks that).
                continue
            parts = pointer.strip("/").split("/")
            facts = copy.deepcopy(case["facts"])
            node = facts
            for part in parts:
                assert isinstance(node, dict), f"{label}: no {pointer}"
                assert part in node, f"{label}: no {pointer}"
                parent, node = node, node[part]
            del parent[parts[-1]]
            assert list(offline_validator(schema).iter_errors(facts)), f"{label}: passes without {pointer}"


    def test_platforms_are_registered(self, path: Path) -> None:
        """Every platform named under `platforms` exists: a typo would silently leave that platform unfixed."""
        known = known_platforms()
        for platform in _meta(path)["platforms"]:
            _skip_if_pending(platform)
            assert platform in known, f"platforms/{platform}: not a registered platform (known: {known})"

    def test_platforms_serve_its_device_classes(self, path: Path) -> None:
        """A platform named for a requirement drives at least one of its device classes, or its entry is dead."""
        meta = _meta(path)
        for platform in meta["platforms"]:
            _skip_if_pending(platform)
            classes = set(get_platform(platform).device_classes)
            assert classes & set(meta["device_classes"]), (
                f"platforms/{platform}: drives {sorted(classes)}, the requirement applies to {meta['device_classes']}")

    def test_automated_fixes_exist_as_platform_content(self, path: Path) -> None:
        """fix: automated (or opt_in: fixed when asked for by name) on a platform is a promise: that platform's
        remediation content carries the id (linux: a task tagged with it in playbooks/linux.yml or tasks/)."""
        for platform, entry in _meta(path)["platforms"].items():
            if entry.get("automation", {}).get("fix") not in ("automated", "opt_in"):
                continue
            _skip_if_pending(platform, remediation=True)
            assert platform in FIX_CONTENT, f"platforms/{platform}: automated fix, but no known fix content"
            assert path.stem in FIX_CONTENT[platform](), f"platforms/{platform}: no fix content tagged {path.stem}"

    def test_intent_is_platform_neutral(self, path: Path) -> None:
        """x-hardening.remediation states the intent for every platform; Linux words belong under linux."""
        meta = _meta(path)
        for lang, text in meta["remediation"].items():
            found = LINUX_WORDS.findall(text)
            assert not found, f"remediation.{lang} (the intent) names {found}: move it under platforms/linux"
        for platform, entry in meta["platforms"].items():
            assert entry.get("remediation") != meta["remediation"], (
                f"platforms/{platform}/remediation repeats the intent: leave it out instead")


def test_manual_facts_are_facts_of_the_requirement() -> None:
    for rid, requirement in load_catalog(CATALOG_DIR).items():
        for platform in requirement.platforms:
            automation = requirement.automation_for(platform)
            manual = automation["manual_facts"]
            assert set(manual) <= set(requirement.facts_for(platform)), (rid, platform)
            assert not manual or automation["fix"] == "automated", (rid, platform)


def test_every_platform_gets_automation_and_text() -> None:
    """A named platform gets its own automation and words; any other platform is checked, gets the intent, and is
    never fixed automatically (so plan never offers a fix there)."""
    requirement = load_catalog(CATALOG_DIR)["TIME-SYNC"]
    meta = _meta(CATALOG_DIR / "TIME-SYNC.json")
    linux = meta["platforms"]["linux"]
    assert requirement.automation_for("linux") == {**linux["automation"], "manual_facts": []}
    assert requirement.remediation_for("linux") == linux["remediation"]
    assert "chrony" in requirement.remediation_for("linux")["en"]
    assert requirement.automation_for("junos") == {"check": "automated", "fix": "none", "manual_facts": []}
    assert requirement.remediation_for("junos") == meta["remediation"]
    assert "chrony" not in requirement.remediation_for("junos")["en"]
    assert "ntp server" in requirement.remediation_for("cisco_ios")["en"]
    requirement.automation_for("linux")["fix"] = "changed"  # a copy: the catalog itself cannot be changed this way
    assert requirement.automation_for("linux")["fix"] == "automated"


def _old_shape(tmp_path: Path, rid: str = "TIME-SYNC") -> Path:
    """`rid` written in the single-platform shape: one automation and one remediation, no platforms."""
    document = copy.deepcopy(_document(CATALOG_DIR / f"{rid}.json"))
    meta = document["x-hardening"]
    linux = meta.pop("platforms")["linux"]
    meta["automation"], meta["remediation"] = linux["automation"], linux["remediation"]
    path = tmp_path / f"{rid}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_old_single_platform_shape_is_refused(tmp_path: Path) -> None:
    """Bad input: the file and the place, and where the data went."""
    path = _old_shape(tmp_path)
    with pytest.raises(CatalogError) as caught:
        load_requirement(path)
    message = str(caught.value)
    assert str(path) in message
    assert "/x-hardening/automation" in message
    assert "platforms" in message
    # The meta-schema refuses it too, for any plain validator.
    errors = list(Draft202012Validator(_load_json(META_SCHEMA)).iter_errors(_load_json(path)))
    assert {"/".join(map(str, e.absolute_path)) for e in errors} == {"x-hardening"}
    assert any("'platforms' is a required property" in e.message for e in errors)
    assert any("'automation' was unexpected" in e.message for e in errors)


@pytest.mark.parametrize(("entry", "where"), [
    ({"automation": {"check": "automated", "fix": "automated", "manual_facts": ["/time/nope"]}},
     "/x-hardening/platforms/linux/automation/manual_facts/0"),
    ({"automation": {"check": "automated", "fix": "manual", "manual_facts": ["/time/synchronized"]}},
     "/x-hardening/platforms/linux/automation/manual_facts"),
    ({"automation": {"check": "automated"}}, "/x-hardening/platforms/linux/automation"),
    ({"remediation": {"ja": "x"}}, "/x-hardening/platforms/linux/remediation"),
    ({"fix": "automated"}, "/x-hardening/platforms/linux"),
])
def test_a_bad_platform_entry_is_refused_with_its_place(tmp_path: Path, entry: dict[str, Any], where: str) -> None:
    document = copy.deepcopy(_document(CATALOG_DIR / "TIME-SYNC.json"))
    document["x-hardening"]["platforms"]["linux"] = entry
    path = tmp_path / "TIME-SYNC.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_requirement(path)
    assert f"{path}" in str(caught.value)
    assert caught.value.where == where, str(caught.value)


def test_catalog_command_lists_automation_and_text_per_platform(capsys: pytest.CaptureFixture[str]) -> None:
    from hardening import cli

    assert cli.main(["catalog", "--json", "--catalog", str(CATALOG_DIR)]) == 0
    listed = {entry["id"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert set(listed) == set(FILE_IDS)
    time_sync = listed["TIME-SYNC"]
    assert "automation" not in time_sync
    assert time_sync["remediation"] == _meta(CATALOG_DIR / "TIME-SYNC.json")["remediation"]
    assert time_sync["platforms"]["linux"]["automation"] == {"check": "automated", "fix": "automated",
                                                             "manual_facts": []}
    assert "chrony" in time_sync["platforms"]["linux"]["remediation"]["en"]
    retention = listed["LOG-RETENTION"]["platforms"]
    assert retention["cisco_ios"]["facts"] == ["/os/family", "/logging/local_buffer"]
    assert "/logging/retention_days" in retention["linux"]["facts"]


def test_pending_platforms_are_still_pending() -> None:
    """A parallel branch's platform that has landed must leave PENDING_*: from then on its checks are not skipped."""
    landed = sorted(p for p in PENDING_PACKAGE if p in known_platforms())
    assert not landed, f"registered now, remove from PENDING_PACKAGE: {landed}"
    remediating = sorted(p for p in PENDING_REMEDIATION
                         if p in known_platforms() and isinstance(get_platform(p), Remediator))
    assert not remediating, f"a Remediator now, remove from PENDING_REMEDIATION: {remediating}"


def test_facts_per_platform() -> None:
    """A platform with its own `facts` reads those (LOG-RETENTION: the local buffer on network devices); any other
    platform, named or not, reads the requirement's `facts`."""
    catalog = load_catalog(CATALOG_DIR)
    retention = catalog["LOG-RETENTION"]
    assert retention.facts_for("cisco_ios") == ("/os/family", "/logging/local_buffer")
    assert retention.facts_for("linux") == retention.facts
    assert retention.facts_for("junos") == retention.facts
    assert "/logging/retention_days" in retention.facts
    store = catalog["PW-STORE-PROTECT"]
    assert "/accounts/password_storage/hash_methods" not in store.facts_for("fortios")
    assert "/accounts/password_storage/hash_methods" in store.facts_for("linux")
    assert catalog["TIME-SYNC"].facts_for("cisco_ios") == catalog["TIME-SYNC"].facts


def test_network_rules_are_conditional_on_the_os_family() -> None:
    """Where the network rule differs, the schema alone says so (if/then/else on /os/family): a plain validator
    judges an IOS document by its buffer and a Linux one by its files, and a document without os by the
    server rule (it fails on the missing files)."""
    path = CATALOG_DIR / "LOG-RETENTION.json"
    body = _substitute(_body(path), {**_resolve(_meta(path)), "log_retention_days": 90, "log_buffer_min_bytes": 64000})
    validator = Draft202012Validator(body)
    buffer = {"enabled": True, "size_bytes": 64000, "severity": "informational"}
    assert not list(validator.iter_errors({"os": {"family": "ios"}, "logging": {"local_buffer": buffer}}))
    assert list(validator.iter_errors({"logging": {"local_buffer": buffer}}))
    assert list(validator.iter_errors({"os": {"family": "debian"}, "logging": {"local_buffer": buffer}}))
    small = {"os": {"family": "rtx"}, "logging": {"local_buffer": {**buffer, "size_bytes": 4096}}}
    assert [list(e.absolute_path) for e in validator.iter_errors(small)] == [["logging", "local_buffer", "size_bytes"]]


@pytest.mark.parametrize(("facts", "where"), [
    (["/logging/nope"], "/x-hardening/platforms/cisco_ios/facts/0"),
    (["/os/family", "/logging/local_buffer/nope"], "/x-hardening/platforms/cisco_ios/facts/1"),
    ([], "/x-hardening/platforms/cisco_ios/facts"),
    (["logging"], "/x-hardening/platforms/cisco_ios/facts/0"),
])
def test_a_bad_platform_fact_list_is_refused_with_its_place(tmp_path: Path, facts: list[str], where: str) -> None:
    document = copy.deepcopy(_document(CATALOG_DIR / "LOG-RETENTION.json"))
    document["x-hardening"]["platforms"]["cisco_ios"]["facts"] = facts
    path = tmp_path / "LOG-RETENTION.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_requirement(path)
    assert str(path) in str(caught.value)
    assert caught.value.where == where, str(caught.value)


def test_manual_facts_must_be_read_on_that_platform(tmp_path: Path) -> None:
    """manual_facts name facts the platform reads: with its own list, the requirement's `facts` do not count."""
    document = copy.deepcopy(_document(CATALOG_DIR / "PW-STORE-PROTECT.json"))
    document["x-hardening"]["platforms"]["cisco_ios"]["automation"] = {
        "check": "automated", "fix": "automated", "manual_facts": ["/accounts/password_storage/hash_methods"]}
    path = tmp_path / "PW-STORE-PROTECT.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_requirement(path)
    assert caught.value.where == "/x-hardening/platforms/cisco_ios/automation/manual_facts/0", str(caught.value)
