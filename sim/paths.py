"""Folders Hamlet writes into: created on demand, refused with one clear line when they cannot be."""

from __future__ import annotations

import os
from pathlib import Path

from sim.errors import UserError


def writable_folder(folder: Path, flag: str) -> Path:
    """Create ``folder`` if needed and check it is writable; ``flag`` names the option in errors."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{flag}: cannot create folder {folder} ({err.strerror})") from None
    if not os.access(folder, os.W_OK):
        why = "is on a read-only mount" if os.statvfs(folder).f_flag & os.ST_RDONLY else "is not writable"
        raise UserError(f"{flag}: read-only: folder {folder} {why}; choose another {flag.split()[0]}")
    return folder
