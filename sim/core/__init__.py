"""The engine's core: the clock, the engine, events, the world, the mind protocol, time and random streams."""
