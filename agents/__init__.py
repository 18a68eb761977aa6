"""Hamlet's minds; importing this package registers them with the engine."""

from agents import chain, generative, roles
from agents.schedule import DEFAULTS as SCHEDULE_PARAMS
from agents.schedule import ScheduleMind
from sim.mind import register_chain, register_introspection, register_mind

register_mind("schedule", ScheduleMind, SCHEDULE_PARAMS)
register_mind("generative", generative.GenerativeMind, generative.DEFAULTS, generative.check_params)
register_mind("role", roles.RoleMind, roles.DEFAULTS, roles.check_params)
register_chain(chain.ChatChain, chain.check_team_minds)
# A role player's stream is read as a generative one, with the generative weights' defaults.
register_introspection("generative", generative.Introspection())
register_introspection("role", generative.Introspection())

__all__ = ["ScheduleMind", "chain", "generative", "roles"]
