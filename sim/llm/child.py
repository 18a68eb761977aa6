"""Model servers Hamlet runs as child processes: tied to its life, stopped politely then firmly."""

from __future__ import annotations

import subprocess
from typing import Any


def die_with_parent() -> None:
    """In a child process: get SIGTERM when the parent dies, even by ``kill -9`` (Linux only)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere a killed run may leave its model server behind until it is stopped by hand


def server_options() -> dict[str, Any]:
    """``Popen`` options for a server Hamlet starts: it dies with Hamlet, and Ctrl-C does not reach it.

    A terminal sends Ctrl-C's SIGINT to its whole foreground process group. In a group of its own
    the child is left alone, and Hamlet, which records how the run ended, stops it in order;
    otherwise every child prints its own traceback as the signal lands.
    """
    return {"preexec_fn": die_with_parent, "process_group": 0}


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 5.0) -> None:
    """Terminate ``process``, and kill it if it has not exited after ``grace_s`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
