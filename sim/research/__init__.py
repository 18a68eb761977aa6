"""Research tools: metrics of emergent behaviour, interview probes, plots, forks and sweeps.

Everything here reads run files (``sim.runfile.reader``) and writes only new files or new rows
(interviews); a recorded run is never changed.
"""
