"""The bus: a run's events out to MQTT subscribers, and control requests in.

See docs/scaling.md for the topics and deployments, docs/architecture.md for how the
pieces fit: ``topics`` (names and envelope), ``base`` (the interface and the in-process bus),
``mqtt`` (the broker connection), ``feed``, ``intake`` and ``relay`` (a run's events, controls and status),
``link`` (what a run connects).
"""
