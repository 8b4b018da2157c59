"""Pieces shared by platforms (one transport serves every SSH-reachable platform)."""
