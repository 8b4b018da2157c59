"""The one include follower: every configuration syntax that reads other files through a directive
(sshd ``Include``, PAM ``@include``/``include``/``substack``, bash ``.``/``source``, chrony
``include``/``confdir``/``sourcedir``, rsyslog ``$IncludeConfig``/``include(file=…)``, syslog-ng
``@include``, logrotate ``include``, snmpd ``includeFile``/``includeDir``) walks its files here, with
one depth rule and one cycle rule.

Each syntax keeps its own parser, which spots its include lines and says, with an ``IncludeRule``, how
the named path becomes files (glob or literal, relative to what, what a directory brings in).  The
parser hands the follower a ``handle(path, text)`` callback and the follower calls it for each file
at the point the include stands, so values that depend on order (sshd's first value, rsyslog's default
template, logrotate's globals) come out as the daemon reads them.

    >>> walk = IncludeWalk(read, glob_)
    >>> def handle(path, text):
    ...     for pattern in includes_of(text):
    ...         walk.include(SOME_RULE, pattern, path, handle)
    >>> walk.visit("/etc/main.conf", handle)
    >>> walk.files, walk.missing, walk.problems
"""

from __future__ import annotations

import fnmatch
from typing import Callable

# One depth rule for every syntax: the main file is depth 0, an included file one more than its includer,
# and a file deeper than this is not read (reported in ``problems``).  OpenSSH (servconf.c
# SERVCONF_MAX_DEPTH) and Linux-PAM (PAM_SUBSTACK_MAX_LEVEL) stop at 16 too.
MAX_INCLUDE_DEPTH = 16
# IncludeRule.relative_to: a relative path is taken from the directory of the file that names it.
INCLUDER_DIR = "<directory of the including file>"


class IncludeProblem(Exception):
    """A strict walk met an include the daemon itself refuses (too deep, or a file including itself): the
    configuration as the daemon reads it cannot be known, so the facts of the section are errors, never values."""


class IncludeRule(object):
    """How one include directive turns the path it names into files.

    ``expand``: "literal" (the path itself), "glob" (glob(3) matches, sorted), "dir" (the entries of
    the directory, in name order), or "glob_or_dir" (the directory's entries when the path is a
    directory, else the glob).
    ``relative_to``: the directory a relative path is taken from ("" keeps it as written, INCLUDER_DIR
    takes the including file's directory); ``absolute``: the prefixes that make a path absolute.
    ``names``: the fnmatch pattern directory entries must match; ``hidden``: whether entries starting
    with "." count (glob(3) leaves them out); ``skip``: fnmatch patterns of the entries a directory
    include ignores (logrotate's taboo list); ``files_only``: leave out entries that are not regular files.
    """

    def __init__(self, expand: str, relative_to: str = "", absolute: tuple[str, ...] = ("/",),
                 names: str = "*", hidden: bool = False, skip: tuple[str, ...] = (),
                 files_only: bool = False) -> None:
        if expand not in ("literal", "glob", "dir", "glob_or_dir"):
            raise ValueError("unknown include expansion: %s" % expand)
        self.expand = expand
        self.relative_to = relative_to
        self.absolute = absolute
        self.names = names
        self.hidden = hidden
        self.skip = skip
        self.files_only = files_only


class IncludeWalk(object):
    """One walk over a configuration: the main file(s) and everything they include, depth first.

    ``read(path) -> text | None`` and ``glob_(pattern) -> sorted paths`` are the host access (a
    ``Ctx``'s methods, or a test's); ``isdir``/``listdir``/``isfile`` are needed by the directory
    expansions only.  ``once``: a file is read at most once per walk (rsyslog, syslog-ng, snmpd read
    each file once); otherwise a file may be read again (two PAM services both including
    common-auth), but never inside itself: a file already on the include chain is a cycle, not read
    again.

    After the walk: ``files`` read (in order), ``missing`` named but unreadable, ``problems`` the
    files not read because of the depth limit or a cycle, as "path: reason".

    ``strict``: the daemon refuses such a configuration (sshd: "too many recursive configuration includes";
    Linux-PAM: "maximum level of inclusions reached", the service aborts; chronyd, logrotate, rsyslog,
    snmpd have no guard either), so the first problem raises IncludeProblem and the probe's section reports
    its facts as errors (fail closed).  Not strict: shell start-up files, where a re-source behind a guard
    variable (``[ -z "$PROFILEREAD" ] && . /etc/profile``) is usual and harmless, and a cycle only ends there.
    """

    def __init__(self, read: Callable[[str], str | None], glob_: Callable[[str], list[str]],
                 isdir: Callable[[str], bool] | None = None,
                 listdir: Callable[[str], list[str] | None] | None = None,
                 isfile: Callable[[str], bool] | None = None, once: bool = False, strict: bool = True) -> None:
        self.read = read
        self.glob = glob_
        self.isdir = isdir
        self.listdir = listdir
        self.isfile = isfile
        self.once = once
        self.strict = strict
        self.files = []  # type: list[str]
        self.missing = []  # type: list[str]
        self.problems = []  # type: list[str]
        self._chain = []  # type: list[str]
        self._seen = set()  # type: set[str]

    def visit(self, path: str, handle: Callable[[str, str], None]) -> bool:
        """Read `path` and call ``handle(path, text)``, unless the walk already read it (``once``), it
        is too deep, it is on the chain (a cycle) or it cannot be read.  Returns whether it was handled."""
        if self.once and path in self._seen:
            return False
        if len(self._chain) > MAX_INCLUDE_DEPTH:
            return self._problem("%s: not read, included more than %d levels deep (from %s)"
                                 % (path, MAX_INCLUDE_DEPTH, self._chain[-1]))
        if path in self._chain:
            return self._problem("%s: not read again, it includes itself (%s)"
                                 % (path, " -> ".join(self._chain[self._chain.index(path):] + [path])))
        self._seen.add(path)
        text = self.read(path)
        if text is None:
            self.missing.append(path)
            return False
        self.files.append(path)
        self._chain.append(path)
        try:
            handle(path, text)
        finally:
            self._chain.pop()
        return True

    def _problem(self, message: str) -> bool:
        self.problems.append(message)
        if self.strict:
            raise IncludeProblem(message)
        return False

    def include(self, rule: IncludeRule, pattern: str, including: str,
                handle: Callable[[str, str], None]) -> list[str]:
        """Follow one include directive of `including`: visit every file ``expand`` gives, in order.
        Returns those files (whether or not each could be read)."""
        paths = self.expand(rule, pattern, including)
        for path in paths:
            self.visit(path, handle)
        return paths

    def expand(self, rule: IncludeRule, pattern: str, including: str) -> list[str]:
        """The files an include directive of `including` names, in the order the daemon reads them."""
        path = self.resolve(rule, pattern, including)
        if rule.expand == "literal":
            return [path]
        if rule.expand == "dir" or (rule.expand == "glob_or_dir" and self.isdir is not None and self.isdir(path)):
            return self.directory(rule, path)
        return self.glob(path)

    def resolve(self, rule: IncludeRule, pattern: str, including: str) -> str:
        """`pattern` made absolute the way the rule's syntax does."""
        if not rule.relative_to or pattern.startswith(rule.absolute):
            return pattern
        base = including.rsplit("/", 1)[0] if rule.relative_to == INCLUDER_DIR else rule.relative_to
        return base.rstrip("/") + "/" + pattern

    def directory(self, rule: IncludeRule, path: str) -> list[str]:
        """The entries of directory `path` the rule takes, in name order (none if it is no directory)."""
        names = self.listdir(path) if self.listdir is not None else None
        out = []
        for name in sorted(names or []):
            if name.startswith(".") and not rule.hidden:
                continue
            if not fnmatch.fnmatchcase(name, rule.names):
                continue
            if any(fnmatch.fnmatch(name, pattern) for pattern in rule.skip):
                continue
            full = path.rstrip("/") + "/" + name
            if rule.files_only and not (self.isfile is not None and self.isfile(full)):
                continue
            out.append(full)
        return out
