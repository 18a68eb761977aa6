"""Sweeps on Ray: one task per run, in a Ray worker process, retried from its run file if that process dies.

``hamlet sweep --executor ray`` sends each run of the grid to Ray as a task that runs ``hamlet
run`` (or ``hamlet resume``) inside its worker's process, writing the run file in the sweep's
folder as the local executor's child process would. A worker runs one run at a time and Ray
keeps it for the next, so Hamlet's imports are paid once per worker, not once per run.

A task whose process dies (killed, out of memory, its node lost) is retried by Ray, up to
``RETRIES`` times. The retry finds the run file the dead attempt left, ``running`` under a dead
writer, and continues it with ``hamlet resume``, the code path of any crashed run: what was
committed up to the newest snapshot is kept and the stretch after it is redone from the recorded
replies, so the sweep's tables are the local executor's.

Without an address a local Ray is started with one CPU per parallel run (no dashboard, its logs
kept out of the terminal) and stopped at the end. With one, the sweep joins that cluster, whose
nodes must have Hamlet installed and see the world file and the sweep's folder at the same paths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from types import ModuleType
from typing import IO, Any

from sim.errors import UserError
from sim.research.sweep import Done, Job, SweepOptions, command_of, failure_line
from sim.run.progress import SweepProgress

RETRIES = 3
"""How many times Ray reruns a task whose process died; each retry resumes the run from its file."""

INSTALL = "pip install 'hamlet-sim[cluster]' (or pip install 'ray>=2.40,<3')"
"""How to get Ray, as the one line without it says."""

CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a cluster's address to answer before saying nothing does."""

CANCEL_WAIT_S = 15.0
"""After Ctrl-C, how long the runs still going get to record that they were interrupted."""

_PORTS = {"ray://": 10001, "": 6379}  # Ray Client's port and the cluster's own (GCS), when none is given


def load_ray() -> ModuleType:
    """The ``ray`` module, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(f"--executor ray: Ray is not installed; install it with {INSTALL}") from None
    return ray


@contextlib.contextmanager
def connect(address: str | None, cpus: int, api_key: str | None = None) -> Iterator[None]:
    """Join the Ray cluster at ``address``, or start a local Ray of ``cpus`` CPUs, for the block; then let go of it."""
    ray = load_ray()
    if address is not None and address != "auto":
        _reachable(address)  # Ray itself waits minutes for an address where nothing answers
    # A sweep has no use for Ray's usage report; the user's own setting wins.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if address is None:
            if api_key:  # the local workers inherit this environment; the key never goes into a task's arguments
                os.environ["OPENAI_API_KEY"] = api_key
            # "local", not the default: a RAY_ADDRESS in the environment must not send the sweep elsewhere.
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, **quiet)
        else:
            env = {"env_vars": {"OPENAI_API_KEY": api_key}} if api_key else None
            # Joining a cluster, Ray's C++ side logs each failed attempt on file descriptor 2 (twenty
            # lines for a wrong token): kept, and read only to say why it failed.
            with tempfile.TemporaryFile() as said, _stderr_into(said):
                try:
                    ray.init(address=address, runtime_env=env, **quiet)
                except Exception as err:
                    said.seek(0)
                    raise ConnectionError(_first_line(err) + _auth_hint(said.read())) from None
    except Exception as err:  # ConnectionError, ValueError, RuntimeError...: one line, whichever
        where = f"--ray-address {address}" if address is not None else "--executor ray: starting a local Ray"
        raise UserError(f"{where}: {_first_line(err)}") from None
    # Ray prints on this process's stdout what its raylet reports (a worker that died, ...); the
    # progress lines say what matters of it (a run resumed, a task given up on) and stdout is the table's.
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        with contextlib.redirect_stdout(io.StringIO()):
            ray.shutdown()


@contextlib.contextmanager
def _stderr_into(sink: IO[bytes]) -> Iterator[None]:
    """Point this process's file descriptor 2 at ``sink`` for the block (what C++ code writes, not only Python)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(sink.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _auth_hint(said: bytes) -> str:
    """What to do when Ray's log says the cluster refused for want of a token ('' otherwise)."""
    if b"InvalidAuthToken" not in said and b"Unauthenticated" not in said:
        return ""
    return (
        " (the cluster wants its authentication token: set RAY_AUTH_MODE=token, with the token in "
        "RAY_AUTH_TOKEN or ~/.ray/auth_token, or use --ray-address auto on one of its nodes)"
    )


def _reachable(address: str) -> None:
    """Refuse in one line an address where nothing accepts a connection."""
    scheme = "ray://" if address.startswith("ray://") else ""
    host, sep, port = address.removeprefix(scheme).rpartition(":")
    if not sep:
        host, port = address.removeprefix(scheme), str(_PORTS[scheme])
    if not host or not port.isdigit():
        raise UserError(
            f"--ray-address {address}: write it as HOST:PORT (the head node's, 6379 by default), "
            "ray://HOST:PORT or auto"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        reason = err.strerror or str(err) or type(err).__name__
        raise UserError(
            f"--ray-address {address}: no Ray cluster answers at {host}:{port} ({reason}); start one "
            "with ray start --head, or leave --ray-address out to start a local Ray"
        ) from None


def run_all(
    world: str, jobs: list[Job], todo: list[bool], end: str, opts: SweepOptions, limit: int | None
) -> list[str]:
    """Run the jobs ``todo`` marks as Ray tasks (at most ``limit`` at once; None: as the CPUs allow), saying as
    each finishes; the error lines of those that failed."""
    ray = load_ray()
    # One CPU each, so a local Ray of N CPUs runs N at once. Ray keeps its worker processes for further tasks:
    # one run at a time each, the imports paid once per worker (a run leaves no thread, file or state behind).
    task = ray.remote(num_cpus=1, max_retries=RETRIES)(run_job)
    # The key reaches the workers through their environment (see ``connect``), never as an argument.
    sent = dataclasses.replace(opts, llm=dataclasses.replace(opts.llm, api_key=None))
    here = os.getcwd()
    failures: list[str] = []
    waiting = [job for job, needed in zip(jobs, todo, strict=True) if needed]
    running: dict[Any, tuple[Job, float]] = {}
    with SweepProgress(len(jobs), quiet=opts.quiet) as progress:
        for job, needed in zip(jobs, todo, strict=True):
            if not needed:
                progress.done(job.name, None)
        try:
            while waiting or running:
                while waiting and (limit is None or len(running) < limit):
                    job = waiting.pop(0)
                    running[task.remote(world, job, end, sent, here)] = (job, time.monotonic())
                ready, _ = ray.wait(list(running), num_returns=1)
                for ref in ready:
                    job, began = running.pop(ref)
                    done = _result(ray, ref, job, began)
                    progress.done(job.name, done.seconds, done.failure, resumed=done.resumed)
                    if done.failure:
                        failures.append(done.failure)
        except KeyboardInterrupt:
            _cancel(ray, list(running))
            raise
    return failures


def run_job(world: str, job: Job, end: str, opts: SweepOptions, cwd: str) -> Done:
    """One run of a sweep, in this process (a Ray worker's): ``hamlet run``, or ``hamlet resume`` if its file is there."""
    began = time.monotonic()
    try:
        os.chdir(cwd)  # the world and the run file as the sweep named them, relative to where it was started
    except OSError:
        return Done(
            f"{job.path}: the sweep's folder {cwd} is not on {socket.gethostname()}; every node needs the "
            "world and the sweep's folder at the same paths",
            0.0,
        )
    try:
        # Decided now, not when the sweep began: a retry after this task's process died finds the run file
        # the dead attempt left and resumes it.
        command = command_of(world, job, end, opts)
    except UserError as err:
        return Done(str(err), time.monotonic() - began)
    if not command:  # an earlier attempt finished the run and died before saying so
        return Done("", None)
    code, errors = _hamlet(command[3:])
    return Done(failure_line(command, code, errors), time.monotonic() - began, command[3] == "resume")


def _hamlet(argv: list[str]) -> tuple[int, str]:
    """Run one ``hamlet`` command in this process: its exit code and what it said on stderr."""
    from sim.cli import main

    said = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(said):
        try:
            code = main(argv)
        except SystemExit as exit_info:  # argparse refusing an option
            code = exit_info.code if isinstance(exit_info.code, int) else 2
        except Exception as err:  # a bug: its last line, as a child process's traceback would end
            return 1, f"{type(err).__name__}: {err}"
    return code, said.getvalue()


def _result(ray: ModuleType, ref: Any, job: Job, began: float) -> Done:
    """What a finished task returned, or the line of one Ray gave up on."""
    try:
        done: Done = ray.get(ref)
    except ray.exceptions.RayError as err:  # its process died RETRIES + 1 times, or was cancelled
        return Done(
            f"{job.path}: its Ray task failed ({_first_line(err)}); run the sweep again to resume it",
            time.monotonic() - began,
        )
    return done


def _cancel(ray: ModuleType, refs: list[Any]) -> None:
    """Ctrl-C: interrupt the runs going on (each records that it was, and resumes later) and wait a little for them."""
    with contextlib.suppress(Exception):
        for ref in refs:
            ray.cancel(ref)  # not forced: a KeyboardInterrupt in the task, which the run records as on a terminal
        ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_S)


def _first_line(err: BaseException) -> str:
    """The first non-empty line of an exception's message (Ray's run to many)."""
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
