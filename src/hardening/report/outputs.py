"""The files of one run's report directory, written by every command that audits (`audit`, scheduled jobs) or
renders (`hardening report`): one function, so a format added here appears everywhere."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hardening.core.models import CollectResult
from hardening.report import writers
from hardening.report.files import atomic_write
from hardening.report.views import hosts_by, subset_report

# Format name -> (file name in the run directory, label shown to the user)
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("report.json", "JSON"),
    "html": ("report.html", "HTML"),
    "csv": ("report.csv", "CSV"),
    "junit": ("junit.xml", "JUnit"),
    "xlsx": ("report.xlsx", "XLSX"),
}
DEFAULT_FORMATS = ("json", "html", "csv", "junit")
GROUP_INDEX = "index.json"


def check_formats(formats: Sequence[str]) -> None:
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(unknown)} (known: {', '.join(FORMATS)})")


def write_report_files(report: dict[str, Any], out: Path, *, lang: str = "ja",
                       formats: Sequence[str] = DEFAULT_FORMATS,
                       trend: Sequence[Mapping[str, Any]] | None = None) -> dict[str, list[Path]]:
    """Write the report in each of `formats` into `out`; return {label: files written} (a large HTML report is a
    summary page plus its pages). `trend`: History.trend rows for the HTML trend chart."""
    check_formats(formats)
    written: dict[str, list[Path]] = {}
    for name in (n for n in FORMATS if n in formats):
        filename, label = FORMATS[name]
        path = out / filename
        if name == "json":
            writers.write_json(report, path)
        elif name == "html":
            written[label] = writers.write_html(report, path, lang=lang, trend=trend)
            continue
        elif name == "csv":
            writers.write_csv(report, path, lang=lang)
        elif name == "junit":
            writers.write_junit(report, path, lang=lang)
        elif name == "xlsx":
            from hardening.report.xlsx import write_xlsx  # xlsxwriter is loaded only when asked for

            write_xlsx(report, path, lang=lang)
        written[label] = [path]
    return written


def write_run_outputs(report: dict[str, Any], results: Mapping[str, CollectResult], out: Path, *,
                      lang: str = "ja", formats: Sequence[str] = DEFAULT_FORMATS,
                      trend: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Path]:
    """Write the report in `formats` plus the facts and captures into `out`; return {label: path} of the reports.
    The JSON record, the facts and the captures are always written (they are the evidence the rest derive from)."""
    check_formats(formats)
    # the record and its evidence first: a renderer that fails leaves them written
    written = write_report_files(report, out, lang=lang, formats=["json"])
    writers.write_facts(report, results, out)
    writers.write_captures(results, out)
    written.update(write_report_files(report, out, lang=lang, trend=trend,
                                      formats=[name for name in formats if name != "json"]))
    return {label: files[0] for label, files in written.items()}


def write_group_reports(report: dict[str, Any], out_dir: Path | str, dimension: str, *, lang: str = "ja",
                        formats: Sequence[str] = DEFAULT_FORMATS) -> dict[str, list[Path]]:
    """One report per zone or per responsible manager (`dimension` "zone" or "manager"; views.responsible_managers
    answers whose a host is), each a valid report of its hosts only (subset_report), in
    `out_dir/<dimension>-NNN/`; `out_dir/index.json` lists {key, directory, hosts, files}. Returns {key: files}."""
    check_formats(formats)
    base = Path(out_dir)
    result: dict[str, list[Path]] = {}
    index = []
    for number, (key, names) in enumerate(hosts_by(report, dimension).items(), start=1):
        directory = base / f"{dimension}-{number:03d}"
        files = write_report_files(subset_report(report, set(names)), directory, lang=lang, formats=formats)
        result[key] = [path for paths in files.values() for path in paths]
        index.append({dimension: key, "directory": directory.name, "hosts": len(names),
                      "files": [str(p.relative_to(base)) for p in result[key]]})
    atomic_write(base / GROUP_INDEX, json.dumps({"run": report["run"]["id"], "by": dimension, "reports": index},
                                                ensure_ascii=False, indent=2) + "\n")
    return result


def write_manager_reports(report: dict[str, Any], out_dir: Path | str, lang: str = "ja",
                          formats: Sequence[str] = DEFAULT_FORMATS) -> dict[str, list[Path]]:
    """One report per responsible manager (the files to mail each one): {manager: files written}."""
    return write_group_reports(report, out_dir, "manager", lang=lang, formats=formats)
