"""Importers: other projects' simulation folders turned into Hamlet world files (``hamlet import KIND``).

Each kind is a module with ``add_parser(kinds)`` (its ``hamlet import KIND`` subcommand) and a
function that returns the world as a mapping ready to write as YAML.
"""
