"""hardening: compliance-as-code for 坂戸市's information security policy."""

__version__ = "0.1.0"
