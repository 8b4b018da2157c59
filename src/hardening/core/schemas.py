"""Where the project's JSON Schemas live, and validation that names the file and the place."""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import json
import math
import os
import re
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import jsonschema_rs
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing._core import Resolver
from referencing.jsonschema import DRAFT202012

from hardening.core.errors import InputError
from hardening.core.yamlio import LoadedYaml


def project_root() -> Path:
    """The directory holding schemas/, inventory/ … (HARDENING_HOME, else the source checkout)."""
    env = os.environ.get("HARDENING_HOME")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "schemas" / "facts.schema.json").is_file():
            return parent
    return Path.cwd()


def schemas_dir() -> Path:
    return project_root() / "schemas"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """Load schemas/<name> (cached)."""
    with (schemas_dir() / name).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@functools.cache
def validator(name: str, definition: str | None = None) -> Draft202012Validator:
    """A validator for a whole schema file, or for one of its $defs (refs resolve inside the file)."""
    schema = load_schema(name)
    if definition is not None:
        schema = {**schema, "$ref": f"#/$defs/{definition}"}
        schema.pop("title", None)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# No retrieval: a $ref to another file or a URL is unresolvable instead of fetched (jsonschema's default
# registry would download http(s) references).
_OFFLINE: Registry[Any] = Registry()


def _network(text: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    return _parsed_network(str(text))


@functools.lru_cache(maxsize=4096)
def _parsed_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """ipaddress's network of a text (immutable, so shared), parsed once: every host of a run checks its sources
    against the same site networks."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _within_networks(
    _validator: Any, networks: Any, instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    """`x-within-networks: [CIDR …]`: the instance (an address or CIDR string) lies wholly inside one of them.

    JSON Schema has no address containment; management sources written `10.203.5.0/24` or `10.203.0.5/32` are inside
    a site's `10.203.0.0/16`, which `enum` cannot see. An unparsable value or network never counts as inside."""
    if not isinstance(instance, str):
        return
    own = _network(instance)
    listed = [n for n in (_network(item) for item in (networks or [])) if n is not None]
    if own is not None and any(own.version == n.version and own.subnet_of(n) for n in listed):  # type: ignore[arg-type]
        return
    yield ValidationError(f"{instance!r} is not inside any of {list(networks or [])!r}")


# A version is read as runs of ASCII digits and runs of ASCII letters; anything else (. - _ space …) only separates.
_VERSION_TOKEN = re.compile(r"[0-9]+|[A-Za-z]+")


def version_tokens(text: str) -> list[int | str]:
    """`"E1.30"` -> `["e", 1, 30]`: numbers as integers (leading zeros drop), letters case-folded."""
    return [int(t) if t.isdigit() else t.casefold() for t in _VERSION_TOKEN.findall(text)]


def compare_versions(found: str, wanted: str) -> int | None:
    """-1, 0 or 1 as `found` is older than, equal to or newer than `wanted`; None when they cannot be compared.

    Token by token: numbers numerically ("1.07" < "1.10", "E1.30" > "E1.4", "1.7" = "1.07"), letters
    case-insensitively by code point ("v1.0a" < "V1.0b"). A number against letters at the first difference, or a
    version without any digit, cannot be compared (the bulletin is written in another format than the device
    reports: fail closed). When one is the other plus more tokens, the longer is newer ("1.2" < "1.2.1",
    "1.2" < "1.2a") unless the rest is zeros ("1.2" = "1.2.0")."""
    a, b = version_tokens(found), version_tokens(wanted)
    if not any(isinstance(t, int) for t in a) or not any(isinstance(t, int) for t in b):
        return None
    for x, y in zip(a, b, strict=False):
        if isinstance(x, int) != isinstance(y, int):
            return None
        if x != y:
            return -1 if x < y else 1  # type: ignore[operator]
    rest, sign = (a[len(b):], 1) if len(a) > len(b) else (b[len(a):], -1)
    return 0 if all(t == 0 for t in rest) else sign


def _version_at_least(
    _validator: Any, bulletins: Any, instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    """`x-version-at-least: [{vendor, model, min_version, bulletin} …]` over an object `{vendor, model, version}`
    (the facts' `/os`): the version is at least the `min_version` of every entry whose `vendor` equals the object's
    (case-insensitively) and whose `model` glob (fnmatch, case-insensitive) matches its model, i.e. the strictest
    of them. No matching entry is a violation naming the vendor and model: the site has to record the vendor's
    bulletin for it. A missing version, vendor or model, or a version that cannot be compared, never holds.

    Each violation points at the member it is about: `vendor` (not identified), `model` (not reported, or no
    entry recorded for it: this does not depend on the version, so it stays a definite failure when the version
    itself could not be read) or `version` (missing, unreadable, older, not comparable). Its expected value is the
    entry that decided it (the strictest one failed; for no entry, the vendor and model with neither version nor
    bulletin), not the whole table."""
    if not isinstance(instance, dict):
        return
    vendor, model, version = instance.get("vendor"), instance.get("model"), instance.get("version")
    if not isinstance(vendor, str) or not vendor:
        yield ValidationError(f"vendor not identified ({vendor!r}), model {model!r}: no bulletin of the site can "
                              "apply; identify the device and record its vendor's bulletin", path=["vendor"])
        return
    if not isinstance(model, str) or not model:
        yield ValidationError(f"{vendor}: model not reported ({model!r}): no bulletin of the site can apply",
                              path=["model"])
        return
    if not isinstance(bulletins, list):
        yield ValidationError(f"the bulletin table is not a list: {bulletins!r}")
        return
    matching = []
    for index, entry in enumerate(bulletins):
        fields = [entry.get(k) if isinstance(entry, dict) else None for k in ("vendor", "model", "min_version")]
        texts = [f for f in fields if isinstance(f, str) and f]
        if len(texts) != len(fields):
            yield ValidationError(f"bulletin table entry {index} lacks vendor, model or min_version: {entry!r}")
            return
        if texts[0].casefold() == vendor.casefold() and fnmatch.fnmatchcase(model.casefold(), texts[1].casefold()):
            matching.append(entry)
    if not matching:
        yield ValidationError(f"no bulletin recorded for {vendor} model {model!r}: the site must record the "
                              "vendor's bulletin (minimum firmware) for this model", path=["model"],
                              validator_value={"vendor": vendor, "model": model, "min_version": None, "bulletin": None})
        return
    if not isinstance(version, str) or not any(isinstance(t, int) for t in version_tokens(version)):
        yield ValidationError(f"no readable version ({version!r}) of {vendor} {model!r}: it cannot be compared with "
                              "the site's bulletins", path=["version"], validator_value=matching)
        return
    verdicts = [(entry, compare_versions(version, entry["min_version"])) for entry in matching]
    unreadable = [entry for entry, verdict in verdicts if verdict is None]
    if unreadable:
        entry = unreadable[0]
        yield ValidationError(f"version {version!r} of {vendor} {model!r} cannot be compared with "
                              f"{entry['min_version']!r} ({entry.get('bulletin', '')}): record min_version in the "
                              "form the device reports", path=["version"], validator_value=entry)
        return
    older = [entry for entry, verdict in verdicts if verdict is not None and verdict < 0]
    if older:
        strictest = older[0]
        for entry in older[1:]:
            if (compare_versions(entry["min_version"], strictest["min_version"]) or 0) > 0:
                strictest = entry
        yield ValidationError(f"version {version!r} of {vendor} {model!r} is older than {strictest['min_version']!r}"
                              f" ({strictest.get('bulletin', '')})", path=["version"], validator_value=strictest)


# The requirement vocabulary: Draft 2020-12 plus `x-within-networks` and `x-version-at-least` (docs/catalog.md).
RequirementValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"x-within-networks": _within_networks, "x-version-at-least": _version_at_least}
)


# Keywords only the project's validators know (jsonschema-rs would ignore them): a schema using one is checked by
# jsonschema alone. Derived from RequirementValidator, so a keyword added there is covered here.
CUSTOM_KEYWORDS = frozenset(RequirementValidator.VALIDATORS) - frozenset(Draft202012Validator.VALIDATORS)

_JSON_SCALARS = (str, bool, type(None))
_RS_INT = 2**63


def plain_json(value: Any) -> bool:
    """Whether `value` is JSON data exactly as jsonschema sees it: dict with str keys, list, str, int, finite float,
    bool, None, and nothing else (no tuple, subclass, NaN or int beyond 64 bits). Only such an instance may be
    answered by jsonschema-rs, which reads a tuple as an array and compares big or non-finite numbers its own way."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and plain_json(item) for key, item in value.items())
    if kind is list:
        return all(plain_json(item) for item in value)
    if kind in _JSON_SCALARS:
        return True
    if kind is int:
        return bool(-_RS_INT < value < _RS_INT)
    if kind is float:
        return math.isfinite(value)
    return False


def _uses_custom_keyword(schema: Any) -> bool:
    if isinstance(schema, dict):
        return any(key in CUSTOM_KEYWORDS for key in schema) or any(_uses_custom_keyword(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_uses_custom_keyword(item) for item in schema)
    return False


# The `format`s jsonschema-rs checks at least as strictly as jsonschema's FORMAT_CHECKER does here (jsonschema
# checks date-time only with an optional package, and date and uuid as RFC 3339 / RFC 4122 say); a schema with any
# other format is judged by jsonschema alone when formats are checked.
_FAST_FORMATS = frozenset({"date-time", "date", "uuid"})


def _formats(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {str(schema["format"])} if isinstance(schema.get("format"), str) else set()
        for value in schema.values():
            found |= _formats(value)
        return found
    if isinstance(schema, list):
        return set().union(*(_formats(item) for item in schema)) if schema else set()
    return set()


def _no_retrieval(uri: str) -> Any:
    raise ValueError(f"{uri}: references are resolved inside the schema only")


class FastValidity(Protocol):
    def __call__(self, instance: Any, *, plain: bool | None = None) -> bool: ...


def fast_validity(schema: Any, formats: bool) -> FastValidity | None:
    """A quick `valid?` for `schema` by jsonschema-rs (Rust; Draft 2020-12, references inside the schema only;
    `formats`: check `format` as the jsonschema validator it stands beside does), or None when only jsonschema can
    answer: the schema uses a keyword of CUSTOM_KEYWORDS (or, with `formats`, a format outside _FAST_FORMATS), or
    jsonschema-rs cannot compile it.

    Only a `valid` of a plain_json instance is an answer (`plain`: the caller already knows whether it is, e.g. once
    for all the requirements of one facts document): jsonschema-rs is at least as strict as jsonschema on every
    keyword the project's schemas use (stricter on `format` and on `$` before a final newline), so an instance it
    finds invalid is for jsonschema to judge and to explain (its messages, paths and anyOf branches are what the
    reports carry). False means "ask jsonschema", never "invalid"."""
    if _uses_custom_keyword(schema) or (formats and _formats(schema) - _FAST_FORMATS):
        return None
    try:
        compiled = jsonschema_rs.Draft202012Validator(schema, validate_formats=formats, retriever=_no_retrieval)
    except Exception:  # whatever it cannot compile, jsonschema judges alone
        return None
    rs_valid = compiled.is_valid

    def valid(instance: Any, *, plain: bool | None = None) -> bool:
        if not (plain_json(instance) if plain is None else plain):
            return False
        try:
            return rs_valid(instance) is True
        except Exception:  # an instance it cannot read is jsonschema's to judge
            return False

    return valid


_FAST: dict[int, tuple[weakref.ref[Draft202012Validator], FastValidity | None]] = {}
_FAST_LOCK = threading.Lock()


def fast_valid(schema_validator: Draft202012Validator, instance: Any) -> bool:
    """True when `instance` is certainly valid under `schema_validator` (a Draft 2020-12 jsonschema validator of the
    project, custom keywords included), answered by fast_validity; False means "ask schema_validator". The quick
    validator is built once per validator object (and forgotten with it)."""
    key = id(schema_validator)
    with _FAST_LOCK:
        entry = _FAST.get(key)
        if entry is None or entry[0]() is not schema_validator:
            quick = fast_validity(schema_validator.schema, schema_validator.format_checker is not None)
            entry = (weakref.ref(schema_validator, lambda _ref: _FAST.pop(key, None)), quick)
            _FAST[key] = entry
    return entry[1] is not None and entry[1](instance)


DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# The formats the Draft 2020-12 meta-schemas use, and those of them jsonschema's FORMAT_CHECKER checks here (`regex`
# by re.compile; the URI ones only when an optional package is installed). jsonschema-rs checks none of them when
# it validates a schema, so schema_surely_valid compiles the regexes itself and stands aside for the URI ones.
_META_FORMATS = frozenset({"uri", "uri-reference", "regex"})
_META_FORMATS_CHECKED = _META_FORMATS & frozenset(Draft202012Validator.FORMAT_CHECKER.checkers)


def _regexes_compile(schema: Any) -> bool:
    """Every `pattern` and `patternProperties` name in `schema` compiles as Python's re (what the `regex` format of
    jsonschema's meta-schema check asks)."""
    if isinstance(schema, list):
        return all(_regexes_compile(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    texts = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
    if isinstance(schema.get("patternProperties"), dict):
        texts += list(schema["patternProperties"])
    try:
        for text in texts:
            re.compile(text)
    except (re.error, TypeError, ValueError, OverflowError, RecursionError):
        return False
    return all(_regexes_compile(value) for value in schema.values())


def schema_surely_valid(schema: Any) -> bool:
    """True when `schema` is certainly a valid Draft 2020-12 schema as Draft202012Validator.check_schema judges it
    (jsonschema-rs's meta-schema check, plus the regexes compiled as jsonschema's format checker does); False
    means "ask check_schema", which names the problem."""
    if not isinstance(schema, dict) or schema.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
        return False
    if _META_FORMATS_CHECKED - {"regex"} or not plain_json(schema):
        return False
    try:
        valid = jsonschema_rs.meta.is_valid(schema) is True
    except Exception:  # what it cannot read, check_schema judges
        return False
    return valid and _regexes_compile(schema)


def offline_validator(schema: Any) -> Draft202012Validator:
    """A validator for a requirement schema that resolves references inside the schema only."""
    found: Draft202012Validator = RequirementValidator(schema, registry=_OFFLINE)
    return found


def offline_resolver(schema: Any) -> Resolver[Any]:
    """A resolver over `schema` alone (what offline_validator sees, without the meta-schemas)."""
    resource = DRAFT202012.create_resource(schema)
    uri = schema.get("$id", "") if isinstance(schema, dict) else ""
    resolver: Resolver[Any] = _OFFLINE.with_resource(uri, resource).crawl().resolver(base_uri=uri)
    return resolver


def _describe(error: ValidationError) -> str:
    return error.message if len(error.message) <= 300 else error.message[:297] + "..."


def check(
    instance: Any,
    schema_validator: Draft202012Validator,
    file: str,
    error: type[InputError] = InputError,
    loaded: LoadedYaml | None = None,
    prefix: list[str | int] | None = None,
) -> None:
    """Raise `error` for the most relevant validation error, naming file, JSON pointer and line."""
    if fast_valid(schema_validator, instance):
        return
    errors = list(schema_validator.iter_errors(instance))
    if not errors:
        return
    worst = best_match(errors) or errors[0]
    parts: list[str | int] = [*(prefix or []), *worst.absolute_path]
    where = loaded.where(parts) if loaded is not None else "/" + "/".join(str(p) for p in parts)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    raise error(file, where, _describe(worst) + more)
