"""Drift reports: one JSON document (the record), rendered to HTML, CSV and the terminal."""
