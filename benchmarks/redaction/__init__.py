"""Redaction accuracy and speed benchmark: dataset, scorer, runner."""
