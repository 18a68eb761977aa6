"""Tests of the terminal viewer (sim/tui)."""
