"""Hamlet's minds; importing this package registers them with the engine."""

from agents import generative
from agents.schedule import DEFAULTS as SCHEDULE_PARAMS
from agents.schedule import ScheduleMind
from sim.mind import register_mind

register_mind("schedule", ScheduleMind, SCHEDULE_PARAMS)
register_mind("generative", generative.GenerativeMind, generative.DEFAULTS, generative.check_params)

__all__ = ["ScheduleMind", "generative"]
