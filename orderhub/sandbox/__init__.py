"""The sandbox: the four source systems of docs/sources.md, simulated over real HTTP.

It stands for the outside world. The product never imports it; only the demo command
and the tests start it. :class:`~orderhub.sandbox.scenario.Scenario` generates the
records, :class:`~orderhub.sandbox.store.SandboxStore` holds them, the apps in
:mod:`orderhub.sandbox.apis` serve them, :mod:`orderhub.sandbox.faults` makes them misbehave
on purpose and :class:`~orderhub.sandbox.server.SandboxServer` runs the apps on 127.0.0.1.
"""
