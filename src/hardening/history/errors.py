"""The history's error: names the location (never a password) and what is wrong."""

from __future__ import annotations

from hardening.core.errors import HardeningError


class HistoryError(HardeningError):
    """The history could not be opened, read or written, a run reference does not resolve, or a run is a
    duplicate. The message names the location or the run; it never carries a password."""
