"""Importing this module registers teams with the engine: the chat chain and the ``role`` mind its members play."""

from agents.generative import Introspection
from sim.core.mind import register_chain, register_introspection, register_mind
from sim.teams import chain, roles

register_mind("role", roles.RoleMind, roles.DEFAULTS, roles.check_params)
register_chain(chain.ChatChain, chain.check_team_minds)
# A role player's stream is read as a generative one, with the generative weights' defaults.
register_introspection("role", Introspection())
