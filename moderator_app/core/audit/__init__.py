"""The data audit: likely label errors, duplicates, leaks and per-source figures (issue 24)."""
