"""The world file: its specs and bounds, loading and checking a scenario, casts, names, importers."""
