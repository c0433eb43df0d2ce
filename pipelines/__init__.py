"""Dagster adapters: registry entries become assets, checks and a sensor over `hub/` functions."""
