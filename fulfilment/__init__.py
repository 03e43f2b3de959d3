"""Fulfilment decisions: allocation, replenishment and carbon per order (fulfilment/README.md).

A stage: it reads the marts, the WMS's stock (staging) and the forecast, decides, writes its
tables in the ``fulfilment`` schema and writes back to the source systems. It imports only
core and the ledger library.
"""
