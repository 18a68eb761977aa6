"""Hamlet's engine: scenarios, world model, clock, event log, LLM gateway and CLI."""

__version__ = "0.1.0"
