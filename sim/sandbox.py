"""The sandbox: run a generated program in a separate, limited process and record what it did.

``run_program(files)`` copies the files into a fresh directory, runs ``python main.py`` there
(or any command) and returns an ``Outcome``: exit status, capped output, wall and CPU seconds,
which limit was hit, the isolation used and the files left behind. Nothing is ever installed.

Two isolation levels; ``available_isolation()`` says which one this machine allows:

- ``namespaces`` (root with ``unshare``): new network, mount, PID, IPC and UTS namespaces. The
  program sees a minimal read-only root (``/usr``, ``/bin``, ``/lib*``, ``/etc``, the Python
  installation, a few devices, its own ``/proc``), a writable ``/program`` (its folder) and
  ``/tmp`` on one size-limited tmpfs that vanishes with it, and only a loopback network of its
  own. It runs as a fresh unprivileged uid with ``no_new_privs``, so the process limit counts
  only its own processes and it owns nothing on the host.
- ``best-effort`` (anything else): a temporary folder on the host, the same resource limits, a
  scrubbed environment, its own process group, a subreaper that kills strays, and a
  ``sitecustomize`` that refuses sockets to Python programs started without ``-E``/``-I``. It
  does not stop a program from reading or writing elsewhere with the host user's rights,
  non-Python network use, or (when run as root) forking past the process limit.

Both levels limit CPU seconds, address space, processes, file size and open files with
``setrlimit`` and kill every process of the program at the wall-time limit. Memory is limited
per process, so a program may use up to ``processes x memory_bytes``.

This file is also the launcher. The host starts ``python -I -S`` and sends it this file's
compiled code and then the job on stdin; run as ``__main__``, the code builds the sandbox,
starts the program, watches it and writes a report to an inherited pipe. That part needs only
cheap imports and stops before the host part (pydantic and friends), so the launcher costs
about 15 ms instead of a full start of the application.
"""

from __future__ import annotations

import marshal
import os
import resource
import select
import sys
import time

_NEWNS, _NEWUTS, _NEWIPC, _NEWPID, _NEWNET = 0x20000, 0x4000000, 0x8000000, 0x20000000, 0x40000000
_RDONLY, _NOSUID, _NODEV, _NOEXEC, _REMOUNT, _BIND, _REC, _PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
_PDEATHSIG, _SUBREAPER, _NO_NEW_PRIVS = 1, 36, 38
_SIGKILL, _SIGPIPE, _SIGXFSZ = 9, 13, 25  # Linux numbers; ``signal`` would cost 7 ms of imports
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
_DEVICES = ("null", "zero", "full", "random", "urandom")
INSIDE_DIR = "/program"
_MAX_FILES = 1000
NETWORK_BLOCKED = "network access is disabled in the Hamlet sandbox"


class _SetupError(Exception):
    """A step of building the sandbox failed: the machine's fault, not the program's."""


def _launch() -> None:
    """The launcher: read the job, build the sandbox, run and watch the program, report."""
    job: dict[str, Any] = marshal.load(sys.stdin.buffer)
    report_fd = int(job["report_fd"])
    os.set_inheritable(report_fd, False)  # the program must not write a fake report
    try:
        libc = _libc()
        if job["mode"] == "namespaces":
            if libc.unshare(_NEWNS | _NEWNET | _NEWPID | _NEWIPC | _NEWUTS) != 0:
                raise _SetupError(f"unshare: {_errno_text()}")
            init = os.fork()  # the first child of a new PID namespace is its init
            if init:
                # The init reports; our copies of the pipes would only delay the host's EOF.
                for fd in (0, 1, 2, report_fd):
                    os.close(fd)
                os.waitpid(init, 0)
                os._exit(0)
            libc.prctl(_PDEATHSIG, _SIGKILL)  # the host kills the launcher: the init, and so all, die
            _build_root(job, libc)
            workdir = INSIDE_DIR
        else:
            libc.prctl(_SUBREAPER, 1)  # orphans of the program come to us, to be killed
            workdir = job["workdir"]
        report = _supervise(job, workdir, libc)
    except (_SetupError, OSError) as exc:
        report = {"setup_error": str(exc)}
    os.write(report_fd, marshal.dumps(report))
    os._exit(0)  # no interpreter shutdown: the host is waiting


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _errno_text() -> str:
    import ctypes

    return os.strerror(ctypes.get_errno())


def _mount(libc: Any, source: str | None, target: str, kind: str | None, flags: int, data: str | None = None) -> None:
    import ctypes

    def raw(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    if libc.mount(raw(source), raw(target), raw(kind), ctypes.c_ulong(flags), raw(data)) != 0:
        raise _SetupError(f"mount {target}: {_errno_text()}")


def _build_root(job: dict[str, Any], libc: Any) -> None:
    """Make the program's filesystem (see the module docstring) and enter it; runs as the init."""
    limits, uid = job["limits"], job["uid"]
    _mount(libc, None, "/", None, _REC | _PRIVATE)  # nothing mounted below may reach the host
    # Open the sources first: the tmpfs below is mounted on /tmp and would hide anything there.
    links, binds = [], []
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            binds.append((path, os.open(path, os.O_PATH), True))
    for path in sorted(job["python_dirs"]):
        if os.path.isdir(path) and not any(path == b or path.startswith(b + "/") for b, _, _ in binds):
            binds.append((path, os.open(path, os.O_PATH), True))
    for name in _DEVICES:
        binds.append((f"/dev/{name}", os.open(f"/dev/{name}", os.O_PATH), False))

    root = "/tmp"
    _mount(libc, "sandbox", root, "tmpfs", _NOSUID | _NODEV,
           f"size={limits['disk_bytes']},nr_inodes={limits['inodes']},mode=755")
    for path, target in links:
        os.symlink(target, root + path)
    for path, fd, read_only in binds:
        inside = root + path
        if read_only:
            os.makedirs(inside, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(inside), exist_ok=True)
            os.close(os.open(inside, os.O_CREAT | os.O_WRONLY, 0o666))
        _mount(libc, f"/proc/self/fd/{fd}", inside, None, _BIND)
        os.close(fd)
        if read_only:
            _mount(libc, None, inside, None, _BIND | _REMOUNT | _RDONLY | _NOSUID | _NODEV)
    for folder in ("/tmp", "/dev/shm"):
        os.makedirs(root + folder, exist_ok=True)
        os.chmod(root + folder, 0o1777)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    os.mkdir(root + "/proc")
    # hidepid: the program cannot even see the init, which runs as root.
    _mount(libc, "proc", root + "/proc", "proc", _NOSUID | _NODEV | _NOEXEC, "hidepid=2")
    _write_files(root + INSIDE_DIR, job["files"], uid)
    _loopback_up()
    libc.sethostname(b"sandbox", 7)
    os.chroot(root)
    os.chdir(INSIDE_DIR)


def _write_files(folder: str, files: dict[str, bytes], uid: int | None) -> None:
    os.mkdir(folder, 0o700)
    for name, data in files.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    if uid is not None:
        for parent, dirs, names in os.walk(folder):
            os.chown(parent, uid, uid)
            for name in dirs + names:
                os.chown(os.path.join(parent, name), uid, uid)


def _loopback_up() -> None:
    """Bring up the namespace's own loopback, so programs may talk to themselves on 127.0.0.1."""
    import _socket
    import fcntl
    import struct

    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:  # SIOCSIFFLAGS with IFF_UP | IFF_LOOPBACK | IFF_RUNNING on a 40-byte struct ifreq
        fcntl.ioctl(sock.fileno(), 0x8914, struct.pack("16sh22x", b"lo", 0x1 | 0x8 | 0x40))
    finally:
        sock.close()


def _supervise(job: dict[str, Any], workdir: str, libc: Any) -> dict[str, Any]:
    """Start the program, wait for it up to the wall limit, kill everything left, and report."""
    stdin = os.memfd_create("stdin")  # any size of input, and no file the program could see
    os.write(stdin, job["stdin"])
    os.lseek(stdin, 0, os.SEEK_SET)
    pid = _spawn(job, workdir, stdin, libc)
    for fd in (stdin, 0, 1, 2):  # the host sees the end of the output when the program's ends
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    deadline = time.monotonic() + job["limits"]["wall_seconds"]
    status, cpu, timed_out = None, 0.0, False
    while status is None:
        while True:  # reap everything that ended, orphans too: zombies count as processes
            try:
                reaped, code, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                reaped = 0
            if not reaped:
                break
            cpu += usage.ru_utime + usage.ru_stime
            if reaped == pid:
                status = code
        remaining = deadline - time.monotonic()
        if status is None and remaining <= 0:
            timed_out = True
            break
        if status is None:
            select.select([pidfd], [], [], min(remaining, 0.05))
    os.close(pidfd)
    cpu += _kill_all(pid)
    return {"status": status, "cpu": cpu, "timed_out": timed_out, "files": _listing(workdir)}


def _spawn(job: dict[str, Any], workdir: str, stdin: int, libc: Any) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setpgid(0, 0)
        os.chdir(workdir)
        os.dup2(stdin, 0)
        for number in (_SIGPIPE, _SIGXFSZ):  # Python ignores these; an ignored signal survives exec
            libc.signal(number, None)
        limits, uid = job["limits"], job["uid"]
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        libc.prctl(_NO_NEW_PRIVS, 1, 0, 0, 0)  # no setuid binary can give the rights back
        libc.prctl(_PDEATHSIG, _SIGKILL)  # after setuid, which clears it
        for which, soft, hard in ((resource.RLIMIT_CORE, 0, 0),
                                  (resource.RLIMIT_NPROC, limits["nproc"], limits["nproc"]),
                                  (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
                                  (resource.RLIMIT_FSIZE, limits["file_bytes"], limits["file_bytes"]),
                                  # SIGXCPU at the soft limit, SIGKILL a second later if ignored
                                  (resource.RLIMIT_CPU, limits["cpu_seconds"], limits["cpu_seconds"] + 1),
                                  (resource.RLIMIT_AS, limits["memory_bytes"], limits["memory_bytes"])):
            resource.setrlimit(which, (soft, hard))
        os.execvpe(job["command"][0], job["command"], job["env"])
    except BaseException as exc:  # whatever happens, this copy of the launcher must not return
        os.write(2, f"sandbox: cannot start {job['command'][0]}: {exc}\n".encode())
    finally:
        os._exit(127)


def _kill_all(pid: int) -> float:
    """Kill every process the program left and reap them; their CPU seconds."""
    cpu = 0.0
    in_namespace = os.getpid() == 1  # kill(-1) from the init of a PID namespace stays inside it
    while True:
        if in_namespace:
            try:  # noqa: SIM105 - contextlib would cost the launcher an import
                os.kill(-1, _SIGKILL)
            except ProcessLookupError:  # nothing left but us
                pass
        else:
            strays = [pid]
            try:
                with open(f"/proc/self/task/{os.getpid()}/children") as handle:
                    strays += [int(child) for child in handle.read().split()]
            except OSError:
                pass
            for target in strays:
                try:  # the program's whole process group, then whatever came to us as orphans
                    if target == pid:
                        os.killpg(target, _SIGKILL)
                    else:
                        os.kill(target, _SIGKILL)
                except OSError:
                    pass
        try:
            reaped, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return cpu
        if reaped:
            cpu += usage.ru_utime + usage.ru_stime
        else:
            time.sleep(0.002)


def _listing(workdir: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for parent, dirs, names in os.walk(workdir):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(parent, name)
            try:
                found[os.path.relpath(path, workdir)] = os.lstat(path).st_size
            except OSError:
                continue
            if len(found) >= _MAX_FILES:
                return found
    return found


if __name__ == "__main__":
    # The launcher stops here, before the host part's imports (pydantic alone takes ~100 ms).
    _launch()

# ---------------------------------------------------------------------------------------------
# The host part.

import contextlib  # noqa: E402
import functools  # noqa: E402
import pwd  # noqa: E402
import secrets  # noqa: E402
import selectors  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from pathlib import PurePosixPath  # noqa: E402
from typing import Any, Literal  # noqa: E402  (annotations above are strings: no import cost there)

from pydantic import BaseModel, ConfigDict, Field  # noqa: E402

LimitName = Literal["none", "time", "cpu", "memory", "processes", "file_size", "disk",
                    "network_refused", "write_refused"]
Isolation = Literal["namespaces", "best-effort"]
MiB = 1 << 20
_BOOT = "import marshal, sys; exec(marshal.load(sys.stdin.buffer), {'__name__': '__main__'})"
_GRACE_SECONDS = 3.0  # the launcher's own deadline comes first; this one only guards against it hanging
_UIDS = (1_500_000_000, 1_600_000_000)  # far above any account's; see _fresh_uid
_SITECUSTOMIZE = f'''"""Installed by the Hamlet sandbox (best-effort mode): no network for Python programs."""
import socket as _socket


def _refuse(*args, **kwargs):
    raise PermissionError({NETWORK_BLOCKED!r})


class _NoNetwork(_socket.socket):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None and family not in (_socket.AF_UNIX,):
            _refuse()
        super().__init__(family, type, proto, fileno)


_socket.socket = _NoNetwork
_socket.getaddrinfo = _socket.create_connection = _refuse  # socketpair stays: asyncio needs it
'''
# Signs of a limit in what the program wrote to stderr (CPython's and the C library's wording).
_SIGNS: tuple[tuple[LimitName, tuple[str, ...]], ...] = (
    ("memory", ("MemoryError", "Cannot allocate memory", "std::bad_alloc")),
    ("processes", ("Resource temporarily unavailable", "can't start new thread")),
    ("file_size", ("File too large",)),
    ("disk", ("No space left on device", "Disk quota exceeded")),
    ("network_refused", ("Network is unreachable", "Temporary failure in name resolution",
                         "Connection refused", NETWORK_BLOCKED)),
    ("write_refused", ("Read-only file system", "Permission denied")),
)


class SandboxError(RuntimeError):
    """The sandbox itself could not be built or run (a fault of the machine, not the program)."""


class Limits(BaseModel):
    """What a program may use; ``isolation`` picks the level (``auto``: the strongest available)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_seconds: float = Field(10.0, gt=0)
    cpu_seconds: int = Field(10, gt=0)
    memory_bytes: int = Field(512 * MiB, gt=0, description="address space, per process")
    processes: int = Field(32, gt=0, description="processes and threads at once")
    file_bytes: int = Field(16 * MiB, gt=0, description="largest file the program may write")
    disk_bytes: int = Field(64 * MiB, gt=0, description="its folder and /tmp together (namespaces)")
    open_files: int = Field(256, gt=3)
    output_bytes: int = Field(64 * 1024, gt=0, description="kept of stdout and of stderr each")
    isolation: Literal["auto", "namespaces", "best-effort"] = "auto"


DEFAULT_LIMITS = Limits()


class Outcome(BaseModel):
    """What a run did: status, output, time, the limit it hit, the isolation used, files left."""

    model_config = ConfigDict(frozen=True)

    command: list[str]
    exit_code: int | None = Field(description="None when a signal ended it")
    signal: str | None = Field(description="the signal that ended it, e.g. SIGKILL")
    stdout: str
    stderr: str
    output_truncated: bool
    wall_seconds: float
    cpu_seconds: float
    limit_hit: LimitName = Field(description="the first of limits_hit, or none")
    limits_hit: list[LimitName]
    isolation: Isolation
    uid: int = Field(description="the user the program ran as")
    files: dict[str, int] = Field(description="path in its folder -> size in bytes")

    @property
    def ok(self) -> bool:
        """True when the program exited with status 0 on its own."""
        return self.exit_code == 0


def run_program(files: Mapping[str, str | bytes], command: Sequence[str] | None = None,
                limits: Limits = DEFAULT_LIMITS, stdin: str | bytes = "") -> Outcome:
    """Run ``command`` (default: ``python main.py``) on a copy of ``files`` in the sandbox."""
    data = {_check_name(name): text.encode() if isinstance(text, str) else text for name, text in files.items()}
    mode = available_isolation() if limits.isolation == "auto" else limits.isolation
    if mode == "namespaces" and os.geteuid() != 0:
        raise SandboxError("the namespaces sandbox needs root; use isolation='best-effort'")
    return _run(data, list(command) if command else None, limits,
                stdin.encode() if isinstance(stdin, str) else stdin, mode)


@functools.cache
def available_isolation() -> Isolation:
    """The strongest isolation this machine allows, found once by trying it."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return "best-effort"
    try:
        probe = _run({}, [sys.executable, "-I", "-S", "-c", "pass"], Limits(wall_seconds=10), b"", "namespaces")
    except SandboxError:
        return "best-effort"
    return "namespaces" if probe.exit_code == 0 else "best-effort"


@functools.cache
def _launcher_code() -> bytes:
    """This file compiled once: the launcher gets it on stdin, not compiling 500 lines each run."""
    with open(__file__, encoding="utf-8") as handle:
        return marshal.dumps(compile(handle.read(), __file__, "exec"))


def _check_name(name: str) -> str:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or str(path) in ("", "."):
        raise ValueError(f"not a relative file name inside the program folder: {name!r}")
    return str(path)


def _run(files: dict[str, bytes], command: list[str] | None, limits: Limits, stdin: bytes,
         mode: Isolation) -> Outcome:
    host_dir = tempfile.mkdtemp(prefix="hamlet-sandbox-") if mode == "best-effort" else None
    try:
        if host_dir:
            os.chmod(host_dir, 0o755)  # a program run as another uid must reach its folder inside
        uid = _fresh_uid() if os.geteuid() == 0 and (mode == "namespaces" or _others_can_run_python()) else None
        workdir = os.path.join(host_dir, "program") if host_dir else INSIDE_DIR
        env = {"PATH": os.pathsep.join(dict.fromkeys([os.path.dirname(sys.executable), "/usr/local/bin",
                                                      "/usr/bin", "/bin"])),
               "HOME": workdir, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}
        nproc = limits.processes
        if host_dir:
            env["PYTHONPATH"] = os.path.join(host_dir, "site")
            os.mkdir(env["PYTHONPATH"])
            with open(os.path.join(env["PYTHONPATH"], "sitecustomize.py"), "w") as handle:
                handle.write(_SITECUSTOMIZE)
            _write_files(workdir, files, uid)
            if uid is None:  # the limit counts every process of this user, not just the program's
                nproc += _processes_of(os.geteuid())
        # Not -I: it would leave the program's folder off sys.path, and main.py imports its siblings.
        command = command or [sys.executable, "-s", "-B", "main.py"]
        job = {"mode": mode, "command": command, "env": env, "workdir": workdir, "uid": uid,
               "stdin": stdin, "files": files if not host_dir else {},
               "python_dirs": sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                                      os.path.dirname(os.path.realpath(sys.executable))}),
               "limits": {"wall_seconds": limits.wall_seconds, "cpu_seconds": limits.cpu_seconds,
                          "memory_bytes": limits.memory_bytes, "nproc": nproc,
                          "file_bytes": limits.file_bytes, "disk_bytes": limits.disk_bytes,
                          "inodes": 4096, "open_files": limits.open_files}}
        return _launch_and_collect(job, limits, mode, uid)
    finally:
        if host_dir:
            shutil.rmtree(host_dir, ignore_errors=True)


def _launch_and_collect(job: dict[str, Any], limits: Limits, mode: Isolation, uid: int | None) -> Outcome:
    report_r, report_w = os.pipe()
    job["report_fd"] = report_w
    started = time.monotonic()
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _BOOT],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=(report_w,), start_new_session=True, cwd="/",
                                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})  # no secrets, even here
    finally:
        os.close(report_w)
    assert proc.stdin and proc.stdout and proc.stderr
    try:
        proc.stdin.write(_launcher_code() + marshal.dumps(job))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    out, err, report = _Capped(limits.output_bytes), _Capped(limits.output_bytes), _Capped(1 << 24)
    sinks = {proc.stdout.fileno(): out, proc.stderr.fileno(): err, report_r: report}
    killed = _collect(sinks, proc.pid, started + limits.wall_seconds + _GRACE_SECONDS)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired as exc:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, _SIGKILL)
        raise SandboxError(f"the sandbox launcher (pid {proc.pid}) did not end; killed") from exc
    finally:
        proc.stdout.close()
        proc.stderr.close()
        os.close(report_r)
    wall = time.monotonic() - started
    facts: dict[str, Any] = marshal.loads(bytes(report.head)) if report.total else {}
    if "setup_error" in facts:
        raise SandboxError(f"the sandbox could not be built ({mode}): {facts['setup_error']}")
    if not facts and not killed:
        raise SandboxError(f"the sandbox launcher failed: {err.text()[-2000:]}")
    status = facts.get("status")
    exit_code = os.waitstatus_to_exitcode(status) if status is not None else None
    number = -exit_code if exit_code is not None and exit_code < 0 else (_SIGKILL if status is None else None)
    stderr = err.text()
    hits = _limits_hit(number, float(facts.get("cpu", 0.0)), stderr, limits,
                       timed_out=killed or bool(facts.get("timed_out")))
    return Outcome(command=job["command"], exit_code=exit_code if number is None else None,
                   signal=signal.Signals(number).name if number else None, stdout=out.text(), stderr=stderr,
                   output_truncated=out.truncated or err.truncated, wall_seconds=wall,
                   cpu_seconds=float(facts.get("cpu", 0.0)), limit_hit=hits[0] if hits else "none",
                   limits_hit=hits, isolation=mode, uid=os.geteuid() if uid is None else uid,
                   files=facts.get("files", {}))


def _collect(sinks: dict[int, _Capped], pid: int, deadline: float) -> bool:
    """Read the pipes until all close; past the deadline kill the launcher's group. True if killed."""
    killed = False
    with selectors.DefaultSelector() as selector:
        for fd in sinks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if killed:  # a stray still holds a pipe open after the kill: stop listening
                    break
                killed = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, _SIGKILL)
                deadline = time.monotonic() + 1.0
                continue
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, 1 << 16)
                if chunk:
                    sinks[key.fd].add(chunk)
                else:
                    selector.unregister(key.fd)
    return killed


def _limits_hit(number: int | None, cpu: float, stderr: str, limits: Limits, *, timed_out: bool) -> list[LimitName]:
    hits: list[LimitName] = []
    if number == signal.SIGXCPU or (number == _SIGKILL and not timed_out and cpu >= limits.cpu_seconds):
        hits.append("cpu")
    if number == signal.SIGXFSZ:
        hits.append("file_size")
    hits += [name for name, signs in _SIGNS if name not in hits and any(s in stderr for s in signs)]
    if timed_out:
        hits.append("time")
    return hits


class _Capped:
    """The head (three quarters) and the tail (one quarter) of a stream, at most ``cap`` bytes."""

    def __init__(self, cap: int) -> None:
        self.head_cap, self.tail_cap = cap - cap // 4, cap // 4
        self.head, self.tail, self.total = bytearray(), bytearray(), 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > 2 * self.tail_cap:  # trim now and then, not on every chunk
            del self.tail[:len(self.tail) - self.tail_cap]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + min(len(self.tail), self.tail_cap)

    def text(self) -> str:
        tail = self.tail[len(self.tail) - self.tail_cap:] if len(self.tail) > self.tail_cap else self.tail
        left_out = self.total - len(self.head) - len(tail)
        middle = f"\n[... {left_out:,} bytes left out ...]\n".encode() if left_out else b""
        return bytes(self.head + middle + tail).decode("utf-8", "replace")


def _fresh_uid() -> int:
    """A uid no account has, new for each run: the process limit then counts only this run."""
    while True:
        uid = _UIDS[0] + secrets.randbelow(_UIDS[1] - _UIDS[0])
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid


def _others_can_run_python() -> bool:
    """Whether an unprivileged user could start this interpreter (pyenv under /root: no)."""
    path = os.path.realpath(sys.executable)
    while True:
        try:
            if not os.stat(path).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count
