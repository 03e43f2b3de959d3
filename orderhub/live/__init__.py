"""The live path: ``orderhub serve``'s service beside the batch flow.

Sources push their changes to webhook receivers (:mod:`.receivers`, signatures in
:mod:`.signatures`); each micro-batch is stored through the connectors' loader before the
sender gets its 2xx (:mod:`.intake`); the hot-path worker recomputes the touched orders'
per-order marts with the SQL dbt compiles (:mod:`.hot_path`) and writes the outbox in the same
transaction; the dispatcher delivers the outbox to subscribers (:mod:`.dispatch`), in a process
of its own (:mod:`.dispatch_process`). The
tables it keeps are in :mod:`.schema`; the Starlette app and its workers in :mod:`.service`.
"""
