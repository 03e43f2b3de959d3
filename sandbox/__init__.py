"""The sandbox: the four source systems of docs/sources.md, simulated over real HTTP.

It stands for the outside world. The product never imports it; only the demo command
and the tests start it. :class:`~sandbox.scenario.Scenario` generates the
records (or :class:`~sandbox.messy.MessyScenario` plays hand-written ones in rounds;
:mod:`sandbox.worlds` names them), :class:`~sandbox.store.SandboxStore` holds them, the apps in
:mod:`sandbox.apis` serve them, :mod:`sandbox.faults` makes them misbehave
on purpose and :class:`~sandbox.server.SandboxServer` runs the apps on 127.0.0.1.
"""
