"""User-facing errors: one clear line, no traceback."""

from __future__ import annotations

import errno
import sqlite3


class UserError(Exception):
    """A mistake the user can fix (bad file, flag or server); printed as one line, exit code 2."""

    exit_code = 2


class Interrupted(UserError):
    """Ctrl-C stopped a run: its file is closed, resumable, and one line says how to continue (exit 130)."""

    exit_code = 130  # the shell's code for a process ended by SIGINT


class NotARunFile(UserError):
    """The given path is not a Hamlet run file."""


class BudgetExceeded(Exception):
    """The run's LLM spending reached ``--budget-usd``; the run stops cleanly."""


def file_trouble(err: BaseException) -> str | None:
    """One line for a run file that could not be read or written for a reason the user can act on, else None."""
    cause = getattr(err, "orig", None) or err  # SQLAlchemy wraps the sqlite3 error
    words = str(cause).lower()
    if "full" in words or (isinstance(cause, OSError) and cause.errno == errno.ENOSPC):
        return "the disk is full; free some space, then continue with hamlet resume"
    if "locked" in words or "busy" in words:
        return "the file is locked by another process; when that process is done, try again (hamlet resume continues a run)"
    if "readonly" in words or "read-only" in words:
        return "read-only: the run file or its folder cannot be written; copy it to a writable folder"
    if "disk i/o" in words:
        return f"the disk failed while writing ({cause}); check it, then continue with hamlet resume"
    return None


def is_file_error(err: BaseException) -> bool:
    """Whether ``err`` came from SQLite (directly, or wrapped by SQLAlchemy)."""
    return isinstance(err, sqlite3.DatabaseError) or isinstance(getattr(err, "orig", None), sqlite3.DatabaseError)
