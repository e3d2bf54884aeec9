"""Plumbing every layer may use: errors, redaction and logs, bounded local input, the terminal seam."""
