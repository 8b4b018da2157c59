"""Numbered SQL migrations of the history (NNNN_name.sql), applied in order by hardening.history.schema."""
