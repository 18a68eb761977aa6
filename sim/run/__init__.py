"""Running a simulation: set-up, run and resume, progress on screen, live control."""
