"""Peripheral behaviour models, chosen by register-block kind and version."""
