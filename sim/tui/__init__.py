"""The terminal viewer (Textual): replay a recorded run, watch one in progress, inspect any mind at any time.

``timeline`` rebuilds the world at any point of a run (no Textual); ``app`` draws it; ``launch``
is what ``hamlet replay``, ``hamlet watch`` and ``hamlet run --tui`` call. See docs/tui.md.
"""
