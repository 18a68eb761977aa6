"""Hamlet's minds; importing this package registers them with the engine (teams register from sim.teams.plugin)."""

from agents import generative
from agents.schedule import DEFAULTS as SCHEDULE_PARAMS
from agents.schedule import ScheduleMind
from sim.core.mind import register_introspection, register_mind

register_mind("schedule", ScheduleMind, SCHEDULE_PARAMS)
register_mind("generative", generative.GenerativeMind, generative.DEFAULTS, generative.check_params)
register_introspection("generative", generative.Introspection())

__all__ = ["ScheduleMind", "generative"]
