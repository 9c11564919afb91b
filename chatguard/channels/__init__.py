"""Inbound channels: the protocols clients speak to chatguard, one module each."""
