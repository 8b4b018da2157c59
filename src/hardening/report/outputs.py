"""The files of one run's report directory, written by every command that audits (`audit`, scheduled jobs):
one function, so a format added here appears everywhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hardening.core.models import CollectResult
from hardening.report import writers

# Format name -> (file name in the run directory, label shown to the user)
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("report.json", "JSON"),
    "html": ("report.html", "HTML"),
    "csv": ("report.csv", "CSV"),
    "junit": ("junit.xml", "JUnit"),
    "xlsx": ("report.xlsx", "XLSX"),
}
DEFAULT_FORMATS = ("json", "html", "csv", "junit")


def write_run_outputs(report: dict[str, Any], results: Mapping[str, CollectResult], out: Path, *,
                      lang: str = "ja", formats: Sequence[str] = DEFAULT_FORMATS) -> dict[str, Path]:
    """Write the report in `formats` plus the facts and captures into `out`; return {label: path} of the reports.
    The JSON record, the facts and the captures are always written (they are the evidence the rest derive from)."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(unknown)} (known: {', '.join(FORMATS)})")
    paths = {FORMATS[name][1]: out / FORMATS[name][0] for name in FORMATS if name in formats or name == "json"}
    writers.write_json(report, paths["JSON"])
    writers.write_facts(report, results, out)
    writers.write_captures(results, out)
    if "HTML" in paths:
        writers.write_html(report, paths["HTML"], lang=lang)
    if "CSV" in paths:
        writers.write_csv(report, paths["CSV"], lang=lang)
    if "JUnit" in paths:
        writers.write_junit(report, paths["JUnit"], lang=lang)
    if "XLSX" in paths:
        from hardening.report.xlsx import write_xlsx  # xlsxwriter is loaded only when asked for

        write_xlsx(report, paths["XLSX"], lang=lang)
    return paths
