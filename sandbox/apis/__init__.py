"""One Starlette app per simulated source system, each serving a :class:`SandboxStore`.

Every app takes the store and the one credential its system accepts; the server mounts
them under ``/erp``, ``/crm``, ``/wms`` and ``/tms``.
"""
