"""Assemble the live service from the settings: secrets, provenance log, workers."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ledger.keys import load_or_create_signer
from ledger.log import ProvenanceLog
from orderhub.live.intake import Intake
from orderhub.live.service import LiveService, build_app
from orderhub.live.signatures import webhook_secret
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.settings import SIGNING_KEY_FILE, Settings
from orderhub.sources import API_SYSTEMS


def provenance_log(settings: Settings, url: str) -> ProvenanceLog:
    """The home's provenance log (the key that signs its checkpoints, orderhub's kinds)."""
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    return ProvenanceLog(url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS)


def live_service(settings: Settings, url: str, host: str, port: int) -> LiveService:
    """The service: receivers and intake, and the workers that follow them."""
    log = provenance_log(settings, url)
    intake = Intake(url, log)
    secrets = {system: webhook_secret(settings, system) for system in API_SYSTEMS}
    workers: dict[str, Callable[[threading.Event], None]] = {"intake": intake.run}
    return LiveService(build_app(intake, secrets), workers, host, port)
