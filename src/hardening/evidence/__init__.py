"""Evidence bundles of zone collectors: export, verify, import (docs/evidence.md)."""

from hardening.evidence.bundle import BundleError, Problem, build_bundle, export_run, read_members
from hardening.evidence.collectors import Collector, Collectors, load_collectors
from hardening.evidence.importer import city_report, import_bundle
from hardening.evidence.verify import BundleRefused, Verified, verify_bundle

__all__ = [
    "BundleError", "BundleRefused", "Collector", "Collectors", "Problem", "Verified", "build_bundle", "city_report",
    "export_run", "import_bundle", "load_collectors", "read_members", "verify_bundle",
]
