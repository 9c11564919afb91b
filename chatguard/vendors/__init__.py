"""Outbound clients: one interface per kind of vendor, one file per vendor."""
