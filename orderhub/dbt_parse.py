"""dbt's partial parsing carried from one dbt invocation to the next.

Every dbt command parses the project before it runs. With a ``partial_parse.msgpack`` from
an earlier parse in its target folder dbt re-parses only what changed; without one it parses
everything (5-9 s for this project on two cores). The flow's invocations each write into a
target folder of their own (Dagster gives each one a new folder), and a parse holds the
``--vars`` it was made with (the marts' colour names their schemas), so nothing was ever
reused: a run parsed the project four or five times.

:func:`partial_parse` keeps the newest parse per project, ``--vars`` and database in a cache
folder
and puts it into an invocation's target folder before dbt starts, then keeps what that
invocation saved. dbt itself decides whether a saved parse still fits (project files, dbt
version, the profile's keys, vars) and parses afresh when it does not, so a stale entry
costs one full parse. It does not look at the profile's values, yet a parse writes the
target database into every node (the compiled SQL names it): so the database is part of
the key, and a parse made against one database is never reused against another.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

#: The file dbt saves its parse in, inside the target folder.
PARTIAL_PARSE = "partial_parse.msgpack"


def _vars(args: Sequence[str]) -> str:
    """The ``--vars`` value of a dbt command line ("" when there is none)."""
    items = list(args)
    return next((items[i + 1] for i, a in enumerate(items[:-1]) if a == "--vars"), "")


def cached_parse(cache: Path, project: Path, args: Sequence[str], database: str) -> Path:
    """Where the parse of ``project`` with the ``--vars`` of ``args``, against the database
    named ``database``, is kept in ``cache``."""
    text = f"{project.resolve()}\0{_vars(args)}\0{database}"
    key = hashlib.sha256(text.encode()).hexdigest()[:24]
    return cache / f"{key}.msgpack"


@contextmanager
def partial_parse(
    cache: Path, project: Path, args: Sequence[str], target: Path, database: str
) -> Iterator[None]:
    """Around one dbt invocation against ``database`` writing to ``target``: seed it with
    the kept parse, over any parse the folder holds (a folder used again may hold one made
    with other ``--vars``, or against another database), and afterwards keep the parse it
    saved (whole: written aside, then renamed). A cache that cannot be read or written is
    passed over."""
    kept = cached_parse(cache, project, args, database)
    saved = target / PARTIAL_PARSE
    try:
        if kept.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kept, saved)
    except OSError:
        pass
    yield
    if saved.is_file():
        keep_copy(saved, kept)


def keep_copy(source: Path, kept: Path) -> None:
    """Copy ``source`` to ``kept`` whole (written aside, then renamed: a reader never sees
    half of it); a cache that cannot be written is passed over."""
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(source, partial)
        partial.replace(kept)
    except OSError:
        pass


__all__ = ["PARTIAL_PARSE", "cached_parse", "keep_copy", "partial_parse"]
