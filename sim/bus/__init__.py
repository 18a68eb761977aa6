"""The bus: a run's events out to MQTT subscribers, control requests in, and minds on worker processes.

See docs/distributed.md for the topics and deployments, docs/architecture.md for how the
pieces fit: ``topics`` (names and envelope), ``base`` (the interface and the in-process bus),
``mqtt`` (the broker connection), ``feed``, ``intake`` and ``relay`` (a run's events, controls and status),
``wire``, ``pool`` and ``worker`` (minds elsewhere), ``link`` (what a run connects).
"""
