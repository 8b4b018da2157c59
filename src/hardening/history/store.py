"""The run history: every audit run with its hosts and findings, in SQLite (default) or PostgreSQL.

Drift, trends and run lists are SQL queries over the `findings` and `runs` tables (schema: migrations/); the
report document itself is kept too (the head of the report and one compressed entry per host), so
`History.report(run)` gives back exactly what was recorded. A run is written in ONE transaction: a recording
that fails midway leaves nothing of that run."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import threading
import zlib
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from hardening.history.backends import DEFAULT_LOCATION, Database, connect
from hardening.history.errors import HistoryError
from hardening.history.models import STATUSES, Change, Drift, classify
from hardening.history.schema import migrate

_FLUSH_HOSTS = 500  # hosts buffered before their rows go to the database (bounded memory when streaming)
_REF = re.compile(r"^[0-9a-f-]{1,36}$")
_RUN_COLUMNS = ("id, started_at, operator, collector, origin_kind, zones, hosts, n_pass, n_fail, n_error, "
                "n_not_applicable, n_manual, n_waived, exit_code, out_dir, selection, bundle_sha256, "
                "bundle_sequence, generated_at")
_FINDING_COLUMNS = ("run_id", "host", "requirement", "clause", "status", "evaluated_status", "zone", "system",
                    "device_class")
_HOST_COLUMNS = ("run_id", "seq_no", "host", "status", "error_kind", "zone", "system", "device_class", "platform",
                 "entry")


def open_history(location: str | os.PathLike[str] | None = None) -> History:
    """The history at `location`, created and migrated to this code's schema if needed.

    None: $HARDENING_HISTORY, else /var/lib/hardening/history.sqlite. A "postgresql://…" or "postgres://…" URL:
    that PostgreSQL database (password from libpq's PGPASSFILE or HARDENING_HISTORY_PASSWORD; it is never
    printed). Anything else: an SQLite file (created 0600, its directory 0700 when new). Raises HistoryError
    naming the location when it cannot be opened or its schema is newer than this code."""
    if location is None:
        location = os.environ.get("HARDENING_HISTORY") or DEFAULT_LOCATION
    db = connect(os.fspath(location))
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return History(db)


def _utc(timestamp: str, what: str) -> str:
    """An ISO 8601 timestamp as UTC text of fixed shape (text order = time order in both engines)."""
    try:
        moment = dt.datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        raise HistoryError(f"{what}: not an ISO 8601 timestamp: {timestamp!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def day_start(day: dt.date) -> str:
    """The first instant of `day` on this machine's clock (local midnight), as stored UTC text."""
    return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.UTC).isoformat(timespec="microseconds")


def _pack(document: Any) -> bytes:
    return zlib.compress(json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
                         .encode("utf-8"), 1)  # level 1: most of the gain, a fraction of the time


def _unpack(blob: bytes | memoryview) -> Any:
    return json.loads(zlib.decompress(bytes(blob)).decode("utf-8"))


def scope_key(selection: dict[str, Any], zones: Iterable[str]) -> str:
    """What makes two runs comparable as "the same scope": the same selection and the same zones covered."""
    return json.dumps({"selection": {k: sorted(v) for k, v in sorted(selection.items()) if v},
                       "zones": sorted(set(zones))}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class Recorder:
    """One run being recorded (History.begin). add() each host as it finishes, then finish(summary); the run
    reaches the history in one transaction: abort() (or an exception inside `with`, or no finish()) leaves nothing
    of it. Thread-safe."""

    _stages = itertools.count(1)

    def __init__(self, db: Database, run: dict[str, Any], document: dict[str, Any] | None,
                 origin: dict[str, Any] | None, out_dir: str | None) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._done = False
        self._in_transaction = False
        self._hosts: list[tuple[Any, ...]] = []
        self._findings: list[tuple[Any, ...]] = []
        self._seen: set[str] = set()
        try:
            self.run_id = str(run["id"])
            self._started = _utc(str(run["started_at"]), f"run {self.run_id}: started_at")
            self._selection = dict(run.get("selection") or {})
        except KeyError as exc:
            raise HistoryError(f"run metadata lacks {exc.args[0]!r}") from None
        # hosts and findings keep their place in the document (empty here; report() puts them back)
        self._head: dict[str, Any] = {key: [] if key in ("hosts", "findings") else value
                                      for key, value in (document if document is not None else {"run": run}).items()}
        origin = origin or {}
        kind = origin.get("kind") or "local"
        if kind not in ("local", "bundle"):
            raise HistoryError(f"run {self.run_id}: origin kind {kind!r} is neither 'local' nor 'bundle'")
        self._run_row = (self.run_id, self._started, str(run.get("operator") or ""),
                         json.dumps(self._selection, ensure_ascii=False, sort_keys=True), kind,
                         origin.get("collector"), origin.get("bundle_sha256"), origin.get("sequence"),
                         None if out_dir is None else str(out_dir))
        self._check_new()
        # SQLite has one writer at a time: the hosts wait in temporary tables of this connection (no lock on the
        # history) and reach it in finish()'s short transaction. PostgreSQL writes them in the run's transaction.
        self._staged = db.engine == "sqlite"
        if self._staged:
            number = next(self._stages)
            self._host_table, self._finding_table = f"temp.stage_hosts_{number}", f"temp.stage_findings_{number}"
            db.execute(f"CREATE TEMP TABLE stage_hosts_{number} AS SELECT * FROM run_hosts WHERE 0 = 1")  # noqa: S608
            db.execute(f"CREATE TEMP TABLE stage_findings_{number} AS SELECT * FROM findings WHERE 0 = 1")  # noqa: S608
        else:
            self._host_table, self._finding_table = "run_hosts", "findings"
            self._begin_run()

    def _check_new(self) -> None:
        if self._db.execute("SELECT 1 FROM runs WHERE id = ?", (self.run_id,)):
            raise HistoryError(f"run {self.run_id} already recorded in {self._db.location}")

    def _begin_run(self) -> None:
        """Open the run's transaction: its runs row (counts filled in by finish) and requirements."""
        self._db.begin()
        self._in_transaction = True
        try:
            self._check_new()
            self._db.execute(
                "INSERT INTO runs (id, started_at, operator, selection, origin_kind, collector, bundle_sha256, "
                "bundle_sequence, out_dir, recorded_at, zones, scope_key, hosts, n_pass, n_fail, n_error, "
                "n_not_applicable, n_manual, n_waived, head) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 0, 0, 0, 0, 0, 0, 0, ?)",
                (*self._run_row, dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"), b""))
            requirements = [
                (self.run_id, r["id"], r.get("clause") or "", (r.get("title") or {}).get("ja", ""),
                 (r.get("title") or {}).get("en", ""))
                for r in self._head.get("requirements") or []]
            if requirements:
                self._db.bulk_insert("run_requirements", ("run_id", "requirement", "clause", "title_ja", "title_en"),
                                     requirements)
        except BaseException:
            self._abort()
            raise

    def add(self, host_entry: dict[str, Any], finding_entries: list[dict[str, Any]]) -> None:
        """One host of the run (its report entry) and its findings (report finding entries)."""
        with self._lock:
            self._check_open()
            name = str(host_entry["name"])
            if name in self._seen:
                self._fail(f"run {self.run_id}: host {name} added twice")
            self._seen.add(name)
            zone, system = host_entry.get("zone"), host_entry.get("system")
            device_class = host_entry.get("device_class")
            self._hosts.append((self.run_id, len(self._seen), name, host_entry["status"],
                                host_entry.get("error_kind"), zone, system, device_class, host_entry.get("platform"),
                                _pack({"host": host_entry, "findings": finding_entries})))
            for finding in finding_entries:
                if finding["host"] != name:
                    self._fail(f"run {self.run_id}: a finding of host {finding['host']} added with host {name}")
                self._findings.append((self.run_id, name, finding["requirement"], finding["clause"],
                                       finding["status"], finding.get("evaluated_status") or finding["status"],
                                       zone, system, device_class))
            if len(self._hosts) >= _FLUSH_HOSTS:
                self._flush()

    def finish(self, summary: dict[str, Any], *, generated_at: str | None = None) -> str:
        """Store the run's summary (report `summary`) and commit; returns the run id."""
        with self._lock:
            self._check_open()
            try:
                self._flush()
                if self._staged:
                    self._begin_run()
                    self._db.execute(f"INSERT INTO run_hosts SELECT * FROM {self._host_table}")  # noqa: S608
                    self._db.execute(f"INSERT INTO findings SELECT * FROM {self._finding_table}")  # noqa: S608
                zones = sorted(z for (z,) in self._db.execute(
                    "SELECT DISTINCT zone FROM run_hosts WHERE run_id = ? AND zone IS NOT NULL", (self.run_id,)))
                self._head["summary"] = summary
                if generated_at is not None:
                    self._head["generated_at"] = generated_at
                counts: dict[str, int] = dict(self._db.execute(  # the stored rows
                    "SELECT status, COUNT(*) FROM findings WHERE run_id = ? GROUP BY status", (self.run_id,)))
                self._db.execute(
                    "UPDATE runs SET generated_at = ?, zones = ?, scope_key = ?, exit_code = ?, hosts = ?, "
                    "n_pass = ?, n_fail = ?, n_error = ?, n_not_applicable = ?, n_manual = ?, n_waived = ?, "
                    "head = ? WHERE id = ?",
                    (_utc(generated_at, f"run {self.run_id}: generated_at") if generated_at else None,
                     ",".join(zones), scope_key(self._selection, zones), summary.get("exit_code"), len(self._seen),
                     *(int(counts.get(s, 0)) for s in STATUSES), _pack(self._head), self.run_id))
                if zones:
                    self._db.bulk_insert("run_zones", ("run_id", "zone"), [(self.run_id, z) for z in zones])
                self._db.commit()
                self._in_transaction = False
            except BaseException:
                self._abort()
                raise
            self._done = True
            self._drop_stage()
            return self.run_id

    def abort(self) -> None:
        """Give up the run: nothing of it is stored."""
        with self._lock:
            self._abort()

    def _abort(self) -> None:
        if not self._done:
            self._done = True
            if self._in_transaction:
                self._in_transaction = False
                self._db.rollback()
            self._drop_stage()

    def _drop_stage(self) -> None:
        if getattr(self, "_staged", False):
            self._staged = False
            for table in (self._host_table, self._finding_table):
                self._db.execute(f"DROP TABLE IF EXISTS {table}")

    def _check_open(self) -> None:
        if self._done:
            raise HistoryError(f"run {self.run_id}: the recording is finished or aborted")

    def _fail(self, message: str) -> None:
        self._abort()
        raise HistoryError(message)

    def _flush(self) -> None:
        try:
            if self._hosts:
                self._db.bulk_insert(self._host_table, _HOST_COLUMNS, self._hosts)
            if self._findings:
                self._db.bulk_insert(self._finding_table, _FINDING_COLUMNS, self._findings)
        except BaseException:
            self._abort()
            raise
        self._hosts, self._findings = [], []

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        with self._lock:
            self._abort()  # finished: nothing to do; otherwise (an exception, or no finish()) nothing is kept


class History:
    """The run database (open_history). Every query answers from SQL; run ids are full uuids (resolve() turns
    "latest", "previous" or a unique prefix into one)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.engine = db.engine
        self.location = db.location  # printable: no password

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------------------------

    def begin(self, run: dict[str, Any], *, document: dict[str, Any] | None = None,
              origin: dict[str, Any] | None = None, out_dir: str | None = None) -> Recorder:
        """Start recording a run: `run` is the report's `run` object; `document` the rest of the report without
        hosts and findings (what History.report gives back around them; default {"run": run}); origin
        {"kind": "local"|"bundle", "collector", "bundle_sha256", "sequence"}. Raises HistoryError if the run is
        recorded already. Use as a context manager, or call finish()/abort()."""
        return Recorder(self._db, run, document, origin, out_dir)

    def record(self, report: dict[str, Any], *, origin: dict[str, Any] | None = None,
               out_dir: str | None = None) -> str:
        """Store a whole report (drift-report.schema.json) in one transaction; returns its run id.
        HistoryError: "… already recorded", or the database refused it (then nothing of it is stored)."""
        findings: dict[str, list[dict[str, Any]]] = {}
        for finding in report["findings"]:
            findings.setdefault(finding["host"], []).append(finding)
        names = {h["name"] for h in report["hosts"]}
        stray = sorted(set(findings) - names)
        if stray:
            raise HistoryError(f"run {report['run']['id']}: findings of hosts not in the report: {', '.join(stray)}")
        with self.begin(report["run"], document=report, origin=origin, out_dir=out_dir) as recorder:
            for host in report["hosts"]:
                recorder.add(host, findings.get(host["name"], []))
            return recorder.finish(report["summary"], generated_at=report.get("generated_at"))

    # --- reading ---------------------------------------------------------------------------------------------

    def runs(self, *, since: dt.date | None = None, zones: list[str] | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
        """The recorded runs, newest first: {"id", "started_at", "operator", "collector", "origin", "zones",
        "hosts", "findings": {status: n}, "exit_code", "out_dir", "selection", …}. since: runs started on or
        after that day (local midnight); zones: runs that covered any of them."""
        where, params = self._filters(since, zones)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY started_at DESC, recorded_at DESC, id DESC"  # noqa: S608
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self._run_dict(row) for row in self._db.execute(sql, params)]

    def trend(self, *, limit: int = 10, zones: list[str] | None = None,
              scope: str | None = None) -> list[dict[str, Any]]:
        """The last `limit` runs, oldest first: {"run_id", "started_at", "hosts", "findings": {status: n}}.
        zones: runs that covered any of them; scope: only runs of that scope (scope_key), the ones `previous`
        compares, so a chart never puts a one-host run beside the whole city."""
        where, params = self._filters(None, zones)
        if scope is not None:
            where = (where + " AND " if where else " WHERE ") + "scope_key = ?"
            params.append(scope)
        rows = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs{where} "  # noqa: S608
            "ORDER BY started_at DESC, recorded_at DESC, id DESC LIMIT ?", [*params, int(limit)])
        return [{"run_id": r["id"], "started_at": r["started_at"], "hosts": r["hosts"], "findings": r["findings"]}
                for r in reversed([self._run_dict(row) for row in rows])]

    @staticmethod
    def _filters(since: dt.date | None, zones: list[str] | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("started_at >= ?")
            params.append(day_start(since))
        if zones:
            marks = ", ".join("?" for _ in zones)
            clauses.append(f"EXISTS (SELECT 1 FROM run_zones z WHERE z.run_id = runs.id AND z.zone IN ({marks}))")  # noqa: S608
            params.extend(zones)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    @staticmethod
    def _run_dict(row: tuple[Any, ...]) -> dict[str, Any]:
        (run_id, started, operator, collector, origin, zones, hosts, *counts) = row[:13]
        exit_code, out_dir, selection, bundle_sha256, sequence, generated = row[13:]
        return {"id": run_id, "started_at": started, "operator": operator, "collector": collector,
                "origin": origin, "zones": [z for z in zones.split(",") if z], "hosts": hosts,
                "findings": dict(zip(STATUSES, counts, strict=True)), "exit_code": exit_code, "out_dir": out_dir,
                "selection": json.loads(selection), "bundle_sha256": bundle_sha256, "sequence": sequence,
                "generated_at": generated}

    def run(self, run_id: str) -> dict[str, Any]:
        """One run as runs() lists it. HistoryError if it is not recorded."""
        rows = self._db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))  # noqa: S608
        if not rows:
            raise HistoryError(f"run {run_id} is not in the history {self.location}")
        return self._run_dict(rows[0])

    def resolve(self, ref: str) -> str:
        """The run id a reference names: a full id, a unique prefix of one, "latest" (the newest run) or
        "previous" (the newest earlier run of the latest run's scope). HistoryError if none or several match."""
        text = ref.strip().lower()
        if text == "latest":
            rows = self._db.execute(
                "SELECT id FROM runs ORDER BY started_at DESC, recorded_at DESC, id DESC LIMIT 1")
            if not rows:
                raise HistoryError(f"no run recorded yet in {self.location}")
            return str(rows[0][0])
        if text == "previous":
            latest = self.resolve("latest")
            earlier = self.previous(latest)
            if earlier is None:
                raise HistoryError(f"no earlier run of the same scope as the latest run {latest}")
            return earlier
        if not _REF.match(text):
            raise HistoryError(f"{ref!r}: not a run reference (a run id or its prefix, latest, previous)")
        rows = self._db.execute("SELECT id FROM runs WHERE id LIKE ? ORDER BY id LIMIT 3", (text + "%",))
        if not rows:
            raise HistoryError(f"no run {ref} in the history {self.location}")
        if len(rows) > 1:
            raise HistoryError(f"{ref!r} is ambiguous: {', '.join(r[0] for r in rows)}{' …' if len(rows) > 2 else ''}")
        return str(rows[0][0])

    def report(self, run_id: str) -> dict[str, Any]:
        """The report document exactly as recorded. HistoryError if the run is not recorded."""
        rows = self._db.execute("SELECT head FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise HistoryError(f"run {run_id} is not in the history {self.location}")
        head: dict[str, Any] = _unpack(rows[0][0])
        hosts: list[Any] = []
        findings: list[Any] = []
        for (entry,) in self._db.execute("SELECT entry FROM run_hosts WHERE run_id = ? ORDER BY seq_no", (run_id,)):
            part = _unpack(entry)
            hosts.append(part["host"])
            findings.extend(part["findings"])
        head["hosts"], head["findings"] = hosts, findings
        return head

    def previous(self, run_id: str) -> str | None:
        """The newest run before `run_id` with the same scope (same selection, same zones covered), or None."""
        rows = self._db.execute("SELECT scope_key, started_at, recorded_at FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise HistoryError(f"run {run_id} is not in the history {self.location}")
        key, started, recorded = rows[0]
        # Runs started in the same second (report times have seconds) are ordered by when they were recorded
        # (microseconds), then by id: never by the random id alone, which made "previous" a coin toss.
        earlier = self._db.execute(
            "SELECT id FROM runs WHERE scope_key = ? AND (started_at < ? OR (started_at = ? AND "
            "(recorded_at < ? OR (recorded_at = ? AND id < ?)))) "
            "ORDER BY started_at DESC, recorded_at DESC, id DESC LIMIT 1",
            (key, started, started, recorded, recorded, run_id))
        return str(earlier[0][0]) if earlier else None

    def compare(self, run_a: str, run_b: str) -> Drift:
        """The drift of run B against run A (models.py states the semantics). HistoryError for an unknown run."""
        for run_id in (run_a, run_b):
            self.run(run_id)
        rows = self._db.execute(
            "SELECT a.host, a.requirement, COALESCE(b.clause, a.clause), a.status, b.status, "
            "COALESCE(rb.title_ja, ra.title_ja, ''), COALESCE(rb.title_en, ra.title_en, '') "
            "FROM findings a "
            "LEFT JOIN findings b ON b.run_id = ? AND b.host = a.host AND b.requirement = a.requirement "
            "LEFT JOIN run_requirements ra ON ra.run_id = a.run_id AND ra.requirement = a.requirement "
            "LEFT JOIN run_requirements rb ON rb.run_id = ? AND rb.requirement = a.requirement "
            "WHERE a.run_id = ? AND a.status = 'fail' "
            "UNION ALL "
            "SELECT b.host, b.requirement, b.clause, a.status, b.status, "
            "COALESCE(rb.title_ja, ra.title_ja, ''), COALESCE(rb.title_en, ra.title_en, '') "
            "FROM findings b "
            "LEFT JOIN findings a ON a.run_id = ? AND a.host = b.host AND a.requirement = b.requirement "
            "LEFT JOIN run_requirements rb ON rb.run_id = b.run_id AND rb.requirement = b.requirement "
            "LEFT JOIN run_requirements ra ON ra.run_id = ? AND ra.requirement = b.requirement "
            "WHERE b.run_id = ? AND b.status = 'fail' AND (a.status IS NULL OR a.status <> 'fail') "
            "ORDER BY 1, 2",
            (run_b, run_b, run_a, run_a, run_a, run_b))
        kinds: dict[str, list[Change]] = {"new": [], "resolved": [], "persisting": [], "unknown": []}
        for host, requirement, clause, before, after, title_ja, title_en in rows:
            kind = classify(before, after)
            if kind is not None:
                kinds[kind].append(Change(host, requirement, clause, before, after, title_ja, title_en))
        return Drift(**kinds, run_a=run_a, run_b=run_b)

    def since(self, day: dt.date, run_b: str | None = None) -> Drift:
        """The drift of run B (default: the latest run) against the last run of B's scope that started before
        `day` (local midnight). HistoryError when no such run exists (nothing to compare with)."""
        run_b = run_b or self.resolve("latest")
        rows = self._db.execute("SELECT scope_key FROM runs WHERE id = ?", (run_b,))
        if not rows:
            raise HistoryError(f"run {run_b} is not in the history {self.location}")
        before = self._db.execute(
            "SELECT id FROM runs WHERE scope_key = ? AND started_at < ? "
            "ORDER BY started_at DESC, recorded_at DESC, id DESC LIMIT 1",
            (rows[0][0], day_start(day)))
        if not before:
            raise HistoryError(f"no run of the same scope as {run_b} before {day.isoformat()}")
        return self.compare(str(before[0][0]), run_b)
