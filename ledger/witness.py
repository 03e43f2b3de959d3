"""A witness: a second key that cosigns a log's checkpoints once they are consistent.

It follows C2SP tlog-witness's ``add-checkpoint`` rules
(https://c2sp.org/tlog-witness): the caller sends the new checkpoint, the size
it believes the witness last cosigned, and the consistency proof from there; the
witness

1. verifies the log's signature on the checkpoint with the log key it trusts;
2. refuses if the old size is not the size it last cosigned for that origin
   (:class:`WitnessConflictError` carries the size it has, so the caller can retry);
3. refuses a smaller tree, or the same size with another root (a fork);
4. verifies the RFC 9162 consistency proof from its last tree to the new one;
5. then cosigns (:mod:`ledger.cosignature`, ``cosignature/v1``) and records the
   new tree as the last one it cosigned.

Its state (per origin: size, root, the cosigned note) is a JSON file written
atomically under an exclusive ``flock``, so two callers never make it cosign two
forks or go backwards.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.cosignature import Cosigner, add_cosignature
from ledger.errors import LedgerError, ProofError
from ledger.hashing import EMPTY_ROOT
from ledger.note import Verifier
from ledger.proofs import verify_consistency


class WitnessError(LedgerError):
    """The witness refused to cosign."""


class WitnessConflictError(WitnessError):
    """The caller's old size is not the size the witness last cosigned."""

    def __init__(self, message: str, known_size: int) -> None:
        super().__init__(message)
        self.known_size = known_size


@dataclass(frozen=True)
class Cosigned:
    """What the witness returns: its signature line and the note carrying both signatures."""

    checkpoint: Checkpoint
    line: str
    note: str
    timestamp: int


class Witness:
    """A cosigner for the logs whose verifier keys it was given."""

    def __init__(self, cosigner: Cosigner, log_keys: Sequence[str], state_file: Path) -> None:
        self.cosigner = cosigner
        self.logs: dict[str, str] = {}
        for text in log_keys:
            verifier = Verifier.from_text(text)
            self.logs[verifier.name] = str(verifier)
        self.state_file = Path(state_file)

    @contextmanager
    def _locked_state(self) -> Iterator[dict[str, Any]]:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.state_file.with_name(self.state_file.name + ".lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state: dict[str, Any] = {}
            if self.state_file.exists():
                state = json.loads(self.state_file.read_text())
            yield state
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, self.state_file)

    def latest(self, origin: str) -> tuple[int, bytes]:
        """The size and root the witness last cosigned for ``origin`` (0 and the empty root)."""
        with self._locked_state() as state:
            entry = state.get(origin)
        if entry is None:
            return 0, EMPTY_ROOT
        return int(entry["size"]), base64.b64decode(entry["root"])

    def add_checkpoint(
        self,
        note_text: str,
        old_size: int,
        proof: Sequence[bytes],
        *,
        timestamp: int | None = None,
    ) -> Cosigned:
        """Verify ``note_text`` against the last cosigned tree and cosign it."""
        origin = note_text.split("\n", 1)[0]
        key = self.logs.get(origin)
        if key is None:
            raise WitnessError(f"the witness does not know the log {origin!r}")
        checkpoint = open_checkpoint(note_text, key, origin=origin)
        with self._locked_state() as state:
            entry = state.get(origin)
            size, root = (
                (0, EMPTY_ROOT)
                if entry is None
                else (int(entry["size"]), base64.b64decode(entry["root"]))
            )
            if old_size != size:
                raise WitnessConflictError(
                    f"old size {old_size} is not the size the witness last cosigned for "
                    f"{origin} ({size})",
                    size,
                )
            if checkpoint.size < size:
                raise WitnessError(
                    f"checkpoint of size {checkpoint.size} is smaller than the one the witness "
                    f"cosigned ({size}): a log never shrinks"
                )
            try:
                verify_consistency(size, checkpoint.size, root, checkpoint.root_hash, proof)
            except ProofError as exc:
                raise WitnessError(
                    f"checkpoint {checkpoint.size} of {origin} is not consistent with the "
                    f"one the witness cosigned ({size}): {exc}"
                ) from exc
            moment = int(time.time()) if timestamp is None else timestamp
            line = self.cosigner.cosign(checkpoint.body(), moment)
            cosigned = add_cosignature(note_text, line)
            state[origin] = {
                "size": checkpoint.size,
                "root": base64.b64encode(checkpoint.root_hash).decode(),
                "note": cosigned,
            }
        return Cosigned(checkpoint, line, cosigned, moment)
