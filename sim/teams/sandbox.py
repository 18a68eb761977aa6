"""The sandbox: run a generated program in a separate, limited process and record what it did.

``run_program(files)`` copies the files into a fresh directory, runs ``python main.py`` there
(or any command) and returns an ``Outcome``: exit status, capped output, wall and CPU seconds,
which limit was hit, the isolation used and the files left behind. Nothing is ever installed.

Four isolation modes; ``available_isolation()`` says which of the first three this machine allows
(``auto`` picks it). The program never runs with the host user's rights or environment unless
``unsafe-host-user`` is asked for by name:

- ``namespaces`` (root with ``unshare``): new network, mount, PID, IPC and UTS namespaces. The
  program sees a minimal read-only root (``/usr``, ``/bin``, ``/lib*``, ``/etc``, the Python
  installation, a few devices, its own ``/proc``), a writable ``/program`` (its folder) and
  ``/tmp`` on one size-limited tmpfs that vanishes with it, and only a loopback network of its
  own. It runs as a fresh unprivileged uid with ``no_new_privs``, so the process limit counts
  only its own processes and it owns nothing on the host.
- ``user-namespaces`` (a user who is not root, where the kernel allows user namespaces): the
  same, in a user namespace of its own. Inside, the program runs as a uid of its own (mapped to
  this user outside, the only id the namespace has) and its exec drops every capability, so it
  cannot mount, ``chroot`` out or make a nested user namespace (the kernel refuses one to a
  chrooted process). The kernel's process limit counts this user's processes outside too.
- ``best-effort`` (root, no namespaces): a temporary folder on the host owned by a fresh
  unprivileged uid the program runs as (no groups, ``no_new_privs``), an environment of
  ``PATH``, ``HOME``, ``LANG`` and two Python switches, no inherited descriptors, its own
  process group, a subreaper that kills strays, an empty network namespace where the machine
  allows one alone (else a ``sitecustomize`` refuses Python's sockets), and what its user left
  in ``/tmp`` and the like removed after. It can read what any local user can read (not the
  run file: that is created readable by its owner only). Not root: ``SandboxRefused``.
- ``unsafe-host-user``: as best-effort, but as this user, with its rights. Only when asked for.

Every mode limits CPU seconds, processes, file size and open files with ``setrlimit`` and kills
every process of the program at the wall-time limit. Memory is limited for the whole program by
a control group of its own (cgroup v1 or v2) where one can be made; elsewhere each process gets
``memory_bytes / processes`` of address space (and fewer processes run if the share would be too
small), so together they stay within the limit. A pids control group, where one can be made,
counts refused forks. ``limits_hit`` comes only from what the sandbox observed: the wall clock,
the ending signal and CPU seconds, the groups' OOM kills and refused forks, a file at the size
cap, a full tmpfs; never from what the program printed. What it cannot observe is in ``notes``.

This file is also the launcher. The host starts ``python -I -S`` and sends it this file's
compiled code and then the job on stdin; run as ``__main__``, the code builds the sandbox,
starts the program, watches it and writes a report to an inherited pipe. That part needs only
cheap imports and stops before the host part (pydantic and friends), so the launcher costs
about 15 ms instead of a full start of the application.
"""

from __future__ import annotations

import itertools
import marshal
import os
import resource
import select
import sys
import time

_NEWNS, _NEWUTS, _NEWIPC, _NEWUSER, _NEWPID, _NEWNET = (
    0x20000,
    0x4000000,
    0x8000000,
    0x10000000,
    0x20000000,
    0x40000000,
)
_RDONLY, _NOSUID, _NODEV, _NOEXEC, _REMOUNT, _BIND, _REC, _PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
_PDEATHSIG, _SUBREAPER, _NO_NEW_PRIVS = 1, 36, 38
_SIGKILL, _SIGPIPE, _SIGXFSZ = 9, 13, 25  # Linux numbers; ``signal`` would cost 7 ms of imports
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
_DEVICES = ("null", "zero", "full", "random", "urandom")
INSIDE_DIR = "/program"
_MAX_FILES = 1000
_MAX_DEPTH = 16
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
        # Opened now: inside the namespace's root, /sys is out of sight.
        groups = [os.open(path, os.O_WRONLY) for path in job["cgroups"]]
        if job["mode"] in ("namespaces", "user-namespaces"):
            outer = os.getuid(), os.getgid()
            own_user = _NEWUSER if job["mode"] == "user-namespaces" else 0
            if libc.unshare(own_user | _NEWNS | _NEWNET | _NEWPID | _NEWIPC | _NEWUTS) != 0:
                raise _SetupError(f"unshare: {_errno_text()}")
            if own_user:  # this user becomes the program's uid inside; no other id exists there
                _write("/proc/self/setgroups", "deny")
                _write("/proc/self/uid_map", f"{job['uid']} {outer[0]} 1")
                _write("/proc/self/gid_map", f"{job['uid']} {outer[1]} 1")
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
            # Where the machine allows a network namespace alone, the program gets an empty one.
            own_network = job["uid"] is not None and libc.unshare(_NEWNET | _NEWIPC) == 0
            if own_network:
                _loopback_up()
        report = _supervise(job, workdir, libc, groups)
        if job["mode"] in ("best-effort", "unsafe-host-user"):
            report["own_network"] = own_network
    except (_SetupError, OSError) as exc:
        report = {"setup_error": str(exc)}
    os.write(report_fd, marshal.dumps(report))
    os._exit(0)  # no interpreter shutdown: the host is waiting


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


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
    _mount(
        libc,
        "sandbox",
        root,
        "tmpfs",
        _NOSUID | _NODEV,
        f"size={limits['disk_bytes']},nr_inodes={limits['inodes']},mode=755",
    )
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
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
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


def _supervise(job: dict[str, Any], workdir: str, libc: Any, groups: list[int]) -> dict[str, Any]:
    """Start the program, wait for it up to the wall limit, kill everything left, and report."""
    stdin = os.memfd_create("stdin")  # any size of input, and no file the program could see
    os.write(stdin, job["stdin"])
    os.lseek(stdin, 0, os.SEEK_SET)
    go_r, go_w = os.pipe()
    pid = _spawn(job, workdir, stdin, libc, (go_r, go_w))
    os.close(go_r)
    try:  # into the control groups before it runs a line: they hold the memory and process limits
        for fd in groups:
            os.write(fd, str(pid).encode())
            os.close(fd)
    except OSError as exc:
        os.kill(pid, _SIGKILL)
        os.waitpid(pid, 0)
        raise _SetupError(f"cannot put the program in its control group: {exc}") from exc
    os.write(go_w, b"go")
    os.close(go_w)
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
    report = {"status": status, "cpu": cpu, "timed_out": timed_out, **_listing(workdir)}
    if job["mode"] != "best-effort":  # its folder and /tmp share one tmpfs, the namespace's root
        fs = os.statvfs("/")
        report["disk_full"] = fs.f_bavail * fs.f_frsize < 65536 or fs.f_favail == 0
    return report


def _spawn(job: dict[str, Any], workdir: str, stdin: int, libc: Any, go: tuple[int, int]) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:
        os.close(go[1])
        if os.read(go[0], 2) != b"go":  # the supervisor could not put us in our control groups
            os._exit(127)
        os.close(go[0])
        os.setpgid(0, 0)
        os.chdir(workdir)
        os.dup2(stdin, 0)
        for number in (_SIGPIPE, _SIGXFSZ):  # Python ignores these; an ignored signal survives exec
            libc.signal(number, None)
        limits, uid = job["limits"], job["uid"]
        if uid is not None:
            if job["mode"] != "user-namespaces":  # there, setgroups is denied and it has no groups anyway
                os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)  # not 0: the program's exec drops every capability, in its namespace too
        libc.prctl(_NO_NEW_PRIVS, 1, 0, 0, 0)  # no setuid binary can give the rights back
        libc.prctl(_PDEATHSIG, _SIGKILL)  # after setuid, which clears it
        rlimits = [
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_NPROC, limits["nproc"], limits["nproc"]),
            (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
            (resource.RLIMIT_FSIZE, limits["file_bytes"], limits["file_bytes"]),
            # SIGXCPU at the soft limit, SIGKILL a second later if ignored
            (resource.RLIMIT_CPU, limits["cpu_seconds"], limits["cpu_seconds"] + 1),
        ]
        if limits["process_memory"]:  # no memory control group: each process gets its share
            rlimits.append((resource.RLIMIT_AS, limits["process_memory"], limits["process_memory"]))
        for which, soft, hard in rlimits:
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


def _first(entries: Any) -> list[Any]:
    """Up to one more than ``_MAX_FILES`` entries of a folder, last name first (they are popped)."""
    return sorted(itertools.islice(entries, _MAX_FILES + 1), key=lambda e: e.name, reverse=True)


def _listing(workdir: str) -> dict[str, Any]:
    """The files the program left (path -> size), walked without recursion, symlinks or long paths.

    The folder is the program's: it may be deep, wide, hold names that are not UTF-8 or symlinks
    to anywhere. The walk stops at ``_MAX_DEPTH`` folders and ``_MAX_FILES`` files or folders and
    says so; names that are not UTF-8 are kept with their bad bytes written as ``\\xNN``.
    """
    found: dict[str, int] = {}
    notes: list[str] = []
    seen = odd = 0
    stack: list[tuple[int, str, list[Any]]] = []
    try:
        top = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        return {"files": found, "listing_notes": [f"its folder could not be read: {exc.strerror}"]}
    with os.scandir(top) as entries:
        stack.append((top, "", _first(entries)))
    while stack:
        fd, prefix, pending = stack[-1]
        if not pending:
            os.close(fd)
            stack.pop()
            continue
        entry = pending.pop()
        seen += 1
        if seen > _MAX_FILES:
            notes.append(f"it left more than {_MAX_FILES} files and folders; the listing stops there")
            break
        name = entry.name
        try:
            name.encode()
        except UnicodeEncodeError:
            odd += 1
            name = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        path = prefix + name
        try:
            if entry.is_dir(follow_symlinks=False):
                if len(stack) >= _MAX_DEPTH:
                    if not any(note.startswith("it nested") for note in notes):
                        notes.append(f"it nested folders more than {_MAX_DEPTH} deep; the listing stops there")
                    continue
                sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                with os.scandir(sub) as entries:
                    stack.append((sub, path + "/", _first(entries)))
            else:
                found[path] = entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    for fd, _, _ in stack:
        os.close(fd)
    if odd:
        notes.append(f"{odd} of its file names were not UTF-8; their bad bytes are shown as \\xNN")
    return {"files": found, "listing_notes": notes}


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
from collections.abc import Iterable, Mapping, Sequence  # noqa: E402
from typing import Any, Literal  # noqa: E402  (annotations above are strings: no import cost there)

from pydantic import BaseModel, ConfigDict, Field  # noqa: E402

from sim.teams.filenames import clash, escaped, printable, problem  # noqa: E402

LimitName = Literal["none", "time", "cpu", "memory", "processes", "file_size", "disk"]
Isolation = Literal["namespaces", "user-namespaces", "best-effort", "unsafe-host-user"]
MemoryScope = Literal["cgroup", "split-per-process"]
MiB = 1 << 20
_MIN_PROCESS_MEMORY = 64 * MiB  # a Python process needs about this much address space to start
_CGROUP_ROOT = "/sys/fs/cgroup"
_SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")  # where any user may write
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


class SandboxError(RuntimeError):
    """The sandbox itself could not be built or run (a fault of the machine, not the program)."""


class SandboxRefused(SandboxError):
    """The sandbox will not run the program: this machine cannot isolate it as asked (the reason says how)."""


class Limits(BaseModel):
    """What a program may use; ``isolation`` picks the level (``auto``: the strongest available)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_seconds: float = Field(10.0, gt=0, description="longest run in seconds of wall-clock time")
    cpu_seconds: int = Field(10, gt=0, description="CPU seconds the program may use")
    memory_bytes: int = Field(512 * MiB, gt=0, description="memory of the whole program, all its processes")
    processes: int = Field(32, gt=0, description="processes and threads at once")
    file_bytes: int = Field(16 * MiB, gt=0, description="largest file the program may write")
    disk_bytes: int = Field(64 * MiB, gt=0, description="its folder and /tmp together (namespaces)")
    open_files: int = Field(256, gt=3, description="files it may have open at once")
    output_bytes: int = Field(64 * 1024, gt=0, description="kept of stdout and of stderr each")
    isolation: Literal["auto", "namespaces", "user-namespaces", "best-effort", "unsafe-host-user"] = Field(
        "auto",
        description=("auto: the strongest available; unsafe-host-user runs the program as this user, with its rights"),
    )


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
    files: dict[str, int] = Field(
        description="path in its folder -> size in bytes; bytes that are not UTF-8 in a name are written \\xNN"
    )
    memory_scope: MemoryScope = Field(
        description="cgroup: one limit for all its processes; split-per-process: "
        "each process its share (no control group here)"
    )
    memory_peak_bytes: int | None = Field(None, description="the most memory it used at once (cgroup only)")
    notes: list[str] = Field([], description="what the sandbox could not observe or cut short, in words")

    @property
    def ok(self) -> bool:
        """True when the program exited with status 0 on its own."""
        return self.exit_code == 0


def run_program(
    files: Mapping[str, str | bytes],
    command: Sequence[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    stdin: str | bytes = "",
) -> Outcome:
    """Run ``command`` (default: ``python main.py``) on a copy of ``files`` in the sandbox.

    Raises ValueError for a file name that leaves the folder, SandboxRefused when this machine
    cannot isolate the program as asked, SandboxError when the sandbox itself fails.
    """
    data = {_check_name(name, files): text.encode() if isinstance(text, str) else text for name, text in files.items()}
    mode = available_isolation() if limits.isolation == "auto" else limits.isolation
    if mode == "namespaces" and not _root():
        raise SandboxRefused("refused: the namespaces sandbox needs root (user-namespaces is for other users)")
    if mode == "user-namespaces" and _root():  # its one uid would be root's outside
        raise SandboxRefused("refused: user-namespaces is for users other than root; root has namespaces")
    if mode == "best-effort" and not _root():
        raise SandboxRefused(
            "refused: cannot isolate: no namespaces, and not root, so the program cannot run as a "
            "user of its own; it would run with this user's rights and files (isolation: "
            "unsafe-host-user allows that)"
        )
    return _run(
        data, list(command) if command else None, limits, stdin.encode() if isinstance(stdin, str) else stdin, mode
    )


@functools.cache
def available_isolation() -> Isolation:
    """The strongest isolation this machine allows, found once by trying it."""
    if not sys.platform.startswith("linux"):
        return "best-effort"
    mode: Isolation = "namespaces" if _root() else "user-namespaces"
    try:
        probe = _run({}, [sys.executable, "-I", "-S", "-c", "pass"], Limits(wall_seconds=10), b"", mode)
    except SandboxError:
        return "best-effort"
    return mode if probe.exit_code == 0 else "best-effort"


@functools.cache
def _launcher_code() -> bytes:
    """This file compiled once: the launcher gets it on stdin, not compiling its 1,100 lines each run."""
    with open(__file__, encoding="utf-8") as handle:
        return marshal.dumps(compile(handle.read(), __file__, "exec"))


def _check_name(name: str, names: Iterable[str]) -> str:
    wrong = problem(name) or clash(name, names)
    if wrong:
        raise ValueError(f"not a file name the program folder can hold: {printable(name)}: {wrong}")
    return name


def _run(files: dict[str, bytes], command: list[str] | None, limits: Limits, stdin: bytes, mode: Isolation) -> Outcome:
    """Run one program in ``mode``: make its folder and control groups, launch it, then remove what it left."""
    inside = mode in ("namespaces", "user-namespaces")
    host_dir = None if inside else tempfile.mkdtemp(prefix="hamlet-sandbox-")
    groups = _Groups.make(limits)
    try:
        uid = None if mode == "unsafe-host-user" else _fresh_uid()
        workdir = os.path.join(host_dir, "program") if host_dir else INSIDE_DIR
        python, env = _interpreter_and_env(host_dir, workdir, uid)
        if host_dir:
            _write_files(workdir, files, uid)
        # Not -I: it would leave the program's folder off sys.path, and main.py imports its siblings.
        command = command or [python, "-s", "-B", "main.py"]
        if command[0] == sys.executable:
            command = [python, *command[1:]]
        job = {
            "mode": mode,
            "command": command,
            "env": env,
            "workdir": workdir,
            "uid": uid,
            "stdin": stdin,
            "files": files if not host_dir else {},
            "cgroups": groups.procs,
            "python_dirs": _python_dirs(),
            "limits": _job_limits(limits, groups, mode, uid),
        }
        outcome = _launch_and_collect(job, limits, mode, uid, groups)
        if host_dir and uid is not None:
            outcome = _strays_removed(outcome, uid)
    finally:
        groups.remove()
        if host_dir:
            _remove_tree(host_dir)
    return outcome


def _interpreter_and_env(host_dir: str | None, workdir: str, uid: int | None) -> tuple[str, dict[str, str]]:
    """The Python the program runs on and its whole environment (none of ours); on the host, the folders they need.

    On the host a program run as a uid of its own gets an interpreter that uid may start, named
    ``python`` and ``python3`` first on its PATH, and every program there a ``sitecustomize``
    that refuses Python's sockets.
    """
    python = sys.executable
    env = {"HOME": workdir, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}
    path = [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
    if host_dir:
        os.chmod(host_dir, 0o755)  # a program run as another uid must reach its folder inside
        if uid is not None:
            python = _shared_python()
            path[0] = os.path.join(host_dir, "bin")  # python and python3, for commands that name them
            os.mkdir(path[0])
            for name in ("python", "python3"):
                os.symlink(python, os.path.join(path[0], name))
        env["PYTHONPATH"] = os.path.join(host_dir, "site")
        os.mkdir(env["PYTHONPATH"])
        with open(os.path.join(env["PYTHONPATH"], "sitecustomize.py"), "w") as handle:
            handle.write(_SITECUSTOMIZE)
    env["PATH"] = os.pathsep.join(dict.fromkeys(path))
    return python, env


def _python_dirs() -> list[str]:
    """This Python's installation folders: a namespace's root mounts them read-only."""
    return sorted(
        {
            sys.prefix,
            sys.base_prefix,
            sys.exec_prefix,
            sys.base_exec_prefix,
            os.path.dirname(os.path.realpath(sys.executable)),
        }
    )


def _job_limits(limits: Limits, groups: _Groups, mode: Isolation, uid: int | None) -> dict[str, Any]:
    """The limits as the launcher applies them, with the process count the kernel checks.

    Where no memory control group holds the whole program, each process gets its share of the
    memory (and fewer run at once if the shares would be too small).
    """
    nproc, process_memory = limits.processes, 0
    if groups.pids:
        nproc += 1  # the control group refuses first, and counts it
    if not groups.memory:  # each process its share, and fewer processes if the shares would be too small
        nproc = min(nproc, max(1, limits.memory_bytes // _MIN_PROCESS_MEMORY))
        process_memory = limits.memory_bytes // nproc
    if uid is None or mode == "user-namespaces":  # the kernel counts every process of this user
        nproc += _processes_of(os.geteuid())
    return {
        "wall_seconds": limits.wall_seconds,
        "cpu_seconds": limits.cpu_seconds,
        "process_memory": process_memory,
        "nproc": nproc,
        "file_bytes": limits.file_bytes,
        "disk_bytes": limits.disk_bytes,
        "inodes": 4096,
        "open_files": limits.open_files,
    }


def _strays_removed(outcome: Outcome, uid: int) -> Outcome:
    """Remove what a host run's user left outside its folder; the outcome, with a note of it if there was any."""
    strays = _remove_strays(uid)
    if not strays:
        return outcome
    note = f"it left {len(strays)} files or folders outside its folder, removed: {', '.join(strays[:5])}" + (
        ", ..." if len(strays) > 5 else ""
    )
    return outcome.model_copy(update={"notes": [*outcome.notes, note]})


def _launch_and_collect(
    job: dict[str, Any], limits: Limits, mode: Isolation, uid: int | None, groups: _Groups
) -> Outcome:
    """Start the launcher on ``job``, read the program's output and the launcher's report until both end."""
    report_r, report_w = os.pipe()
    job["report_fd"] = report_w
    started = time.monotonic()
    try:
        proc = _start_launcher(report_w)
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
    return _outcome(
        job["command"], facts, out, err, wall=wall, killed=killed, limits=limits, mode=mode, uid=uid, groups=groups
    )


def _start_launcher(report_w: int) -> subprocess.Popen[bytes]:
    """The launcher's process: ``python -I -S`` reading its code on stdin, in a session of its own, with no secrets."""
    python, credentials = _launcher()
    return subprocess.Popen(
        [python, "-I", "-S", "-c", _BOOT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(report_w,),
        start_new_session=True,
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},  # no secrets, even here
        **credentials,
    )


def _outcome(
    command: list[str],
    facts: dict[str, Any],
    out: _Capped,
    err: _Capped,
    *,
    wall: float,
    killed: bool,
    limits: Limits,
    mode: Isolation,
    uid: int | None,
    groups: _Groups,
) -> Outcome:
    """What the program did: the launcher's report (``facts``), its output, and what its control groups saw."""
    status = facts.get("status")
    exit_code = os.waitstatus_to_exitcode(status) if status is not None else None
    number = -exit_code if exit_code is not None and exit_code < 0 else (_SIGKILL if status is None else None)
    seen = groups.observed()
    files: dict[str, int] = facts.get("files", {})
    hits = _limits_hit(
        number,
        float(facts.get("cpu", 0.0)),
        limits,
        timed_out=killed or bool(facts.get("timed_out")),
        memory=seen["memory"],
        processes=seen["processes"],
        disk=bool(facts.get("disk_full")),
        full_file=any(size >= limits.file_bytes for size in files.values()),
    )
    notes = [*facts.get("listing_notes", []), *groups.notes(limits)]
    notes += [
        f"its {name} held bytes that are not UTF-8, written \\xNN"
        for name, sink in (("stdout", out), ("stderr", err))
        if sink.garbled
    ]
    if mode in ("best-effort", "unsafe-host-user") and not facts.get("own_network"):
        notes.append("no network namespace here: only Python's socket module refuses the network")
    return Outcome(
        command=command,
        exit_code=exit_code if number is None else None,
        signal=signal.Signals(number).name if number else None,
        stdout=out.text(),
        stderr=err.text(),
        output_truncated=out.truncated or err.truncated,
        wall_seconds=wall,
        cpu_seconds=float(facts.get("cpu", 0.0)),
        limit_hit=hits[0] if hits else "none",
        limits_hit=hits,
        isolation=mode,
        files=files,
        uid=os.geteuid() if uid is None or mode == "user-namespaces" else uid,
        memory_scope="cgroup" if groups.memory else "split-per-process",
        memory_peak_bytes=seen["peak"],
        notes=notes,
    )


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


def _limits_hit(
    number: int | None,
    cpu: float,
    limits: Limits,
    *,
    timed_out: bool,
    memory: bool,
    processes: bool,
    disk: bool,
    full_file: bool,
) -> list[LimitName]:
    """The limits the program ran into, from what the sandbox observed (never from what it printed)."""
    hits: list[LimitName] = []
    if number == signal.SIGXCPU or (number == _SIGKILL and not timed_out and cpu >= limits.cpu_seconds):
        hits.append("cpu")
    if memory:
        hits.append("memory")
    if processes:
        hits.append("processes")
    if disk:
        hits.append("disk")
    if number == signal.SIGXFSZ or full_file:  # Python ignores SIGXFSZ: a file at the cap is the sign
        hits.append("file_size")
    if timed_out:
        hits.append("time")
    return hits


class _Groups:
    """The run's own control groups (memory, pids), made under ours; what they saw; their removal.

    Either controller may be missing (no cgroup file system, or not writable): the sandbox then
    limits that resource with ``setrlimit`` alone and says what it cannot observe.
    """

    def __init__(self) -> None:
        self.memory = self.pids = ""  # the groups' folders, when made
        self.v2 = False

    @property
    def procs(self) -> list[str]:
        """The files the program's pid is written to, one per group."""
        return [os.path.join(folder, "cgroup.procs") for folder in dict.fromkeys((self.memory, self.pids)) if folder]

    @classmethod
    def make(cls, limits: Limits) -> _Groups:
        """Groups limiting memory to ``limits.memory_bytes`` and tasks to ``limits.processes``, where allowed."""
        groups = cls()
        name = f"hamlet-sandbox-{secrets.token_hex(6)}"
        try:
            with open("/proc/self/cgroup") as handle:
                lines = [line.rstrip("\n").split(":", 2) for line in handle]
        except OSError:
            return groups
        if os.path.exists(f"{_CGROUP_ROOT}/cgroup.controllers"):  # cgroup v2 alone
            groups.v2 = True
            own = next((path for number, _, path in lines if number == "0"), None)
            if own is not None:
                folder = _make_group(
                    f"{_CGROUP_ROOT}{own}",
                    name,
                    {"memory.max": limits.memory_bytes, "memory.swap.max": 0, "pids.max": limits.processes},
                )
                if folder and os.path.exists(f"{folder}/memory.max"):
                    groups.memory = folder
                if folder and os.path.exists(f"{folder}/pids.max"):
                    groups.pids = folder
                if folder and not (groups.memory or groups.pids):
                    _remove_group(folder)
            return groups
        for _, controllers, own in lines:  # cgroup v1: one hierarchy per controller
            kinds = controllers.split(",")
            if "memory" in kinds and not groups.memory:
                groups.memory = _make_group(
                    f"{_CGROUP_ROOT}/memory{own}",
                    name,
                    {"memory.limit_in_bytes": limits.memory_bytes, "memory.memsw.limit_in_bytes": limits.memory_bytes},
                )
            if "pids" in kinds and not groups.pids:
                groups.pids = _make_group(f"{_CGROUP_ROOT}/pids{own}", name, {"pids.max": limits.processes})
        return groups

    def observed(self) -> dict[str, Any]:
        """Whether memory ran out (the kernel killed a process of the group for it), tasks were refused, the peak."""
        seen: dict[str, Any] = {"memory": False, "processes": False, "peak": None}
        if self.memory:
            if self.v2:
                events = _counters(f"{self.memory}/memory.events")
                seen["memory"] = events.get("oom_kill", 0) > 0 or events.get("oom", 0) > 0
                seen["peak"] = _number(f"{self.memory}/memory.peak")
            else:
                control = _counters(f"{self.memory}/memory.oom_control")
                seen["memory"] = (
                    control["oom_kill"] > 0 if "oom_kill" in control else bool(_number(f"{self.memory}/memory.failcnt"))
                )
                seen["peak"] = _number(f"{self.memory}/memory.max_usage_in_bytes")
        if self.pids:
            seen["processes"] = _counters(f"{self.pids}/pids.events").get("max", 0) > 0
        return seen

    def notes(self, limits: Limits) -> list[str]:
        """What these groups leave unobserved or limited differently, in words."""
        notes = []
        if not self.memory:
            share = min(limits.processes, max(1, limits.memory_bytes // _MIN_PROCESS_MEMORY))
            notes.append(
                f"no memory control group here: each process may use {limits.memory_bytes // share // MiB} "
                f"MiB of address space and at most {share} run at once, so together they stay within "
                "the limit; running out shows only as the program's own error, not as a limit hit"
            )
        if not self.pids:
            notes.append(
                "no pids control group here: the process limit holds (setrlimit), but a refused fork "
                "is not observed, so it is never reported as a limit hit"
            )
        return notes

    def remove(self) -> None:
        """Remove the groups (every process in them has been killed and reaped by now)."""
        for folder in dict.fromkeys((self.memory, self.pids)):
            if folder:
                _remove_group(folder)


def _make_group(parent: str, name: str, settings: dict[str, int]) -> str:
    """``parent/name`` with ``settings`` written (those the group has), or empty if it cannot be made."""
    folder = os.path.join(parent, name)
    try:
        os.mkdir(folder)
    except OSError:
        return ""
    for key, value in settings.items():  # in order: memsw must not go below the limit
        if os.path.exists(os.path.join(folder, key)):
            try:
                with open(os.path.join(folder, key), "w") as handle:
                    handle.write(str(value))
            except OSError:
                if key in ("memory.memsw.limit_in_bytes", "memory.swap.max"):  # a machine without swap
                    continue
                _remove_group(folder)
                return ""
    return folder


def _remove_group(folder: str) -> None:
    """Kill whatever is still in the group (nothing should be: belt and braces), then remove it."""
    for _ in range(100):  # a killed task may take a moment to leave its group
        with contextlib.suppress(OSError, ValueError), open(os.path.join(folder, "cgroup.procs")) as handle:
            for pid in handle.read().split():
                with contextlib.suppress(OSError):
                    os.kill(int(pid), _SIGKILL)
        try:
            os.rmdir(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


def _counters(path: str) -> dict[str, int]:
    """A control group file of ``name value`` lines."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError), open(path) as handle:
        for line in handle:
            key, value = line.split()
            found[key] = int(value)
    return found


def _number(path: str) -> int | None:
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


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
            del self.tail[: len(self.tail) - self.tail_cap]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + min(len(self.tail), self.tail_cap)

    def text(self) -> str:
        """What was kept, as text: bytes that are not UTF-8 are written ``\\xNN`` (a cut may split a character)."""
        tail = self.tail[len(self.tail) - self.tail_cap :] if len(self.tail) > self.tail_cap else self.tail
        left_out = self.total - len(self.head) - len(tail)
        middle = f"\n[... {left_out:,} bytes left out ...]\n".encode() if left_out else b""
        return bytes(self.head + middle + tail).decode("utf-8", "backslashreplace")

    @property
    def garbled(self) -> bool:
        """Whether the whole stream, when nothing was left out, is not valid UTF-8."""
        if self.truncated:
            return False
        try:
            bytes(self.head + self.tail).decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False


def _fresh_uid() -> int:
    """A uid no account has, new for each run: the process limit then counts only this run."""
    while True:
        uid = _UIDS[0] + secrets.randbelow(_UIDS[1] - _UIDS[0])
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid


def _shared_python() -> str:
    """An interpreter a user with no rights of its own can start: ours, or the system's (pyenv under /root: not ours)."""
    for candidate in (sys.executable, "/usr/local/bin/python3", "/usr/bin/python3"):
        if os.path.exists(candidate) and _others_can_run(candidate):
            return candidate
    raise SandboxRefused(
        f"refused: cannot isolate: no Python interpreter a user without rights may start "
        f"({sys.executable} is in a folder other users cannot enter, and there is no system "
        "python3); use a machine with user namespaces, or install python3 for all users"
    )


def _launcher() -> tuple[str, dict[str, Any]]:
    """The interpreter the launcher runs on, and Popen's credentials for it (tests start it as another user)."""
    return sys.executable, {}


def _root() -> bool:
    """Whether this process may give the program a user of its own (a function, so tests can say no)."""
    return os.geteuid() == 0


def _others_can_run(path: str) -> bool:
    """Whether an unprivileged user could start ``path``: every folder above it and it are open to others."""
    path = os.path.realpath(path)
    while True:
        try:
            if not os.stat(path).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


def _remove_strays(uid: int) -> list[str]:
    """Remove what a best-effort program's user left in the folders everyone may write to; their paths."""
    found = []
    for folder in _SHARED_DIRS:
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_uid != uid:
                        continue
                    found.append(escaped(entry.path))
                    if entry.is_dir(follow_symlinks=False):
                        _remove_tree(entry.path)
                    else:
                        os.unlink(entry.path)
    return found


def _remove_tree(folder: str) -> None:
    """Remove a best-effort run's folder: the program may have nested folders past Python's recursion limit."""
    try:
        shutil.rmtree(folder)
    except (OSError, RecursionError):
        subprocess.run(["rm", "-rf", "--one-file-system", folder], capture_output=True, check=False)


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count
