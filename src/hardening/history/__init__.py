"""The drift history: every audit run stored (SQLite by default, PostgreSQL for a site that runs one), one schema
with numbered migrations; drift new / resolved / persisting / unknown between runs and since a date; run lists and
trends (docs/history.md).

    history = open_history()                   # $HARDENING_HISTORY, else /var/lib/hardening/history.sqlite
    run_id = history.record(report)            # or: with history.begin(run) as r: r.add(host, findings) … r.finish(s)
    drift = history.compare(history.previous(run_id), run_id)
"""

from __future__ import annotations

from hardening.history.errors import HistoryError
from hardening.history.models import Change, Drift
from hardening.history.store import History, Recorder, open_history

__all__ = ["Change", "Drift", "History", "HistoryError", "Recorder", "open_history"]
