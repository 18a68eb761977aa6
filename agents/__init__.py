"""Hamlet's minds; importing this package registers them with the engine."""

from agents.schedule import DEFAULTS as SCHEDULE_PARAMS
from agents.schedule import ScheduleMind
from sim.mind import register_mind

register_mind("schedule", ScheduleMind, SCHEDULE_PARAMS)

__all__ = ["ScheduleMind"]
