"""Faults the sandbox injects into its HTTP answers, per system, reproducibly from a seed.

Real source systems misbehave; the connectors must lose nothing when they do. A fault plan
is a comma-separated list of entries, given to ``orderhub sandbox --faults`` or in
``ORDERHUB_SANDBOX_FAULTS`` (seed: ``--fault-seed`` / ``ORDERHUB_SANDBOX_FAULT_SEED``)::

    entry   := system ":" kind [":" arg] [trigger]
    trigger := "@" N ["x" K]      the N-th record request of that system (1-based), and the
                                  K-1 after it (a burst)
             | "=" P              each record request with probability P (0 < P <= 1)
             | (nothing)          every record request

    e.g.  erp:429@3,crm:503@2x3,wms:drop=0.05,tms:timeout:2@4,crm:expire@5

Only a system's record endpoint counts as a request (not its OAuth token endpoint). Whether
a probabilistic entry fires on request N is a function of (seed, system, kind, N) alone, so
the same plan and seed misbehave the same way for the same requests.

=============== ====================================================================== ======
kind            what the answer becomes                                                arg
=============== ====================================================================== ======
429             HTTP 429 in the system's error shape, ``Retry-After: <arg>``            s (1)
500 502 503 504 that HTTP status in the system's error shape                          --
timeout         headers and half the body, a stall of <arg> seconds, then the          s (30)
                connection is cut (a client with a shorter read timeout gives up first)
drop            headers and half the body, then the connection is cut                 --
malformed       HTTP 200 whose body is cut in the middle (not JSON)                    --
missing_key     HTTP 200 whose records key (``d.results``, ``records``, ``data``,       --
                ``trackers``) is gone
duplicates      the page starts with the last <arg> records of the previous page       n (3)
shuffle         the page's records in a seeded random order (``updated_at`` out of     --
                order)
short           the page is asked with half the page size the client asked for (at     --
                least one record): fewer records than asked, and more follow
late            before answering, a record (one not yet served, if any, else one whose s (60)
                cursor moves forward) is changed with a cursor <arg> s behind the
                newest served, or behind the newest in the source before anything was
                served (a write that lands late)
change          before answering, <arg> records change (new cursor value after every   n (3)
                other): the last record served, the first of that page, and random ones
new_field       every record gains the field <arg> (value derived from its key)        name
rename          field <old> of every record is renamed <new> (arg ``old/new``)          old/new
wrong_type      field <arg> of every record gets a value of an uncastable type         field
offset          every timestamp of every record is written in the UTC offset <arg>     +02:00
                (the same instants, as a server in another time zone writes them)
expire          every access token of the system expires (OAuth systems: crm);        --
                this request is answered 401
delay           the answer is held <arg> seconds                                       s (1)
=============== ====================================================================== ======

Ground truth under faults: transport faults (429, 5xx, timeout, drop) and body faults that
fail a sync (malformed, missing_key) change nothing the source holds, so the warehouse must
end with exactly the scenario's records. ``duplicates``, ``shuffle`` and ``short`` change
only what is served, not the records. ``change`` and ``late`` change the source:
:attr:`FaultPlan.changed` holds the final version of every record they touched, and the
warehouse must hold that final version (plus, possibly, the version it replaced).
``new_field``, ``rename``, ``wrong_type`` and ``offset`` change the served records:
:meth:`FaultPlan.served_version` gives the record a client received, and a record missing a
required field or holding an uncastable value belongs in quarantine, not in the raw table.

The package: :mod:`.spec` parses the language above, :mod:`.plan` holds a plan and its
ground truth, :mod:`.asgi` wraps each system's app to inject the faults per request, and
:mod:`.rewrites` rewrites the records of a page.
"""

from __future__ import annotations

from sandbox.faults.plan import ENV_FAULTS, ENV_SEED, FaultPlan
from sandbox.faults.spec import KINDS, OAUTH_SYSTEMS, Fault, FaultSpecError, parse_faults

__all__ = [
    "ENV_FAULTS",
    "ENV_SEED",
    "KINDS",
    "OAUTH_SYSTEMS",
    "Fault",
    "FaultPlan",
    "FaultSpecError",
    "parse_faults",
]
