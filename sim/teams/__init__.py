"""Teams (ChatDev's idea as a world): the world file's team part, the chat chain, the role mind,
artifacts, quality, the sandbox, the scripted model's programs and the ChatDev importer.

Importing ``sim.teams.plugin`` registers the chain and the role mind with the engine."""
