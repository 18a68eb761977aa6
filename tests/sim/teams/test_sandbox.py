"""The sandbox runs generated programs in real, limited processes; hostile ones are contained.

Every test starts real processes (no mocks). The hostile programs are kept small: a process
limit of 8, time limits of one or two seconds, memory of 256 MiB.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sysconfig
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from sim.teams import sandbox
from sim.teams.sandbox import (
    INSIDE_DIR,
    NETWORK_BLOCKED,
    Limits,
    Outcome,
    SandboxRefused,
    available_isolation,
    run_program,
)

ROOT = Path(__file__).resolve().parents[3]
MiB = 1 << 20


def _machine_allows_namespaces() -> bool:
    """Found independently of the sandbox: root, and ``unshare`` may make a network namespace."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "-m", "-p", "-f", "true"], capture_output=True).returncode == 0


ISOLATION = available_isolation()
needs_namespaces = pytest.mark.skipif(
    ISOLATION != "namespaces",
    reason="best-effort isolation does not keep a program from the host user's files (documented)",
)
# As root without namespaces, the process limit does not hold (root may always fork): no fork bomb.
needs_process_limit = pytest.mark.skipif(
    ISOLATION == "best-effort" and os.geteuid() == 0,
    reason="as root without namespaces the kernel does not apply RLIMIT_NPROC",
)


FORK_BOMB = """
import os, time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
"""


def run(source: str, **limits: Any) -> Outcome:
    """Run ``source`` as main.py under ``Limits(**limits)``."""
    return run_program({"main.py": textwrap.dedent(source)}, limits=Limits(**limits))


def processes_of(uid: int) -> list[int]:
    """Host processes running as ``uid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_machine_isolation_is_namespaces_exactly_when_root_can_unshare() -> None:
    expected = "namespaces" if _machine_allows_namespaces() else "best-effort"
    assert available_isolation() == expected
    assert run('print("hi")').isolation == expected


def test_trivial_program_runs_and_its_output_and_exit_status_are_recorded() -> None:
    outcome = run('print("hi")')
    assert outcome.ok
    assert (outcome.exit_code, outcome.signal, outcome.stdout, outcome.stderr) == (0, None, "hi\n", "")
    assert (outcome.limit_hit, outcome.limits_hit) == ("none", [])
    assert outcome.files == {"main.py": len('print("hi")')}
    assert 0 < outcome.wall_seconds < 5 and outcome.cpu_seconds > 0
    if ISOLATION == "namespaces":
        assert outcome.uid != 0 and not processes_of(outcome.uid)


def test_failing_program_exit_status_and_stderr_are_recorded() -> None:
    outcome = run("""
        import sys
        print("partial")
        print("went wrong", file=sys.stderr)
        sys.exit(3)
    """)
    assert not outcome.ok
    assert (outcome.exit_code, outcome.stdout, outcome.stderr) == (3, "partial\n", "went wrong\n")
    assert outcome.limit_hit == "none"


def test_program_imports_its_sibling_files_runs_its_own_tests_and_leaves_files() -> None:
    files = {
        "main.py": "from game import score\nprint(score(3))\n",
        "game.py": "def score(n):\n    return n * 10\n",
        "test_game.py": textwrap.dedent("""
            import unittest
            from game import score

            class ScoreTest(unittest.TestCase):
                def test_score(self):
                    self.assertEqual(score(2), 20)
                    with open("report.txt", "w") as handle:
                        handle.write("passed")
        """),
    }
    assert run_program(files).stdout == "30\n"
    outcome = run_program(files, command=["python", "-m", "unittest"])  # python: on its PATH
    assert outcome.ok, outcome.stderr
    assert "Ran 1 test" in outcome.stderr
    assert outcome.files["report.txt"] == len("passed")
    assert set(outcome.files) == {*files, "report.txt"}  # no __pycache__ either


def test_stdin_is_given_to_the_program() -> None:
    outcome = run_program({"main.py": "print(input()[::-1])"}, stdin="olleh\n")
    assert outcome.stdout == "hello\n"


@needs_process_limit
@pytest.mark.slow
def test_fork_bomb_is_held_at_the_process_limit_and_killed_at_the_time_limit() -> None:
    outcome = run(
        """
        import os, sys, time
        refused = False
        while True:
            try:
                os.fork()
            except OSError as exc:
                if not refused:
                    print("fork refused:", exc, file=sys.stderr, flush=True)
                    refused = True
                time.sleep(0.01)
    """,
        processes=8,
        wall_seconds=2,
        memory_bytes=256 * MiB,
    )
    assert outcome.limit_hit == "processes" and "time" in outcome.limits_hit
    assert outcome.signal == "SIGKILL" and outcome.exit_code is None
    assert 2 <= outcome.wall_seconds < 5
    if outcome.uid:
        assert not processes_of(outcome.uid), "a process of the fork bomb survived"


def test_endless_loop_is_stopped_at_the_cpu_limit() -> None:
    outcome = run("while True:\n    pass\n", cpu_seconds=1, wall_seconds=10)
    assert (outcome.limit_hit, outcome.signal) == ("cpu", "SIGXCPU")
    # The kernel sends SIGXCPU at 1 s of CPU by its tick accounting; rusage, read after, may say a little less.
    assert 0.5 <= outcome.cpu_seconds < 3 and outcome.wall_seconds < 6


def test_sleeping_program_and_its_escaped_daemon_are_killed_at_the_wall_time_limit() -> None:
    outcome = run(
        """
        import os, time
        if os.fork() == 0:       # a daemon: new session, out of the program's process group
            os.setsid()
            if os.fork() == 0:
                time.sleep(60)
            os._exit(0)
        print("sleeping", flush=True)
        time.sleep(60)
    """,
        wall_seconds=1,
    )
    assert outcome.limits_hit == ["time"] and outcome.signal == "SIGKILL"
    assert outcome.stdout == "sleeping\n"
    assert 1 <= outcome.wall_seconds < 4
    if outcome.uid:
        assert not processes_of(outcome.uid), "the daemon survived"


def test_memory_hog_is_stopped_at_the_memory_limit() -> None:
    outcome = run(
        """
        hoard = []
        while True:
            hoard.append(bytearray(8 << 20))
    """,
        memory_bytes=256 * MiB,
        wall_seconds=10,
    )
    assert outcome.wall_seconds < 5 and not outcome.ok
    if outcome.memory_scope == "cgroup":  # the kernel's OOM killer, counted by the group
        assert (outcome.limit_hit, outcome.signal) == ("memory", "SIGKILL")
        assert outcome.memory_peak_bytes is None or outcome.memory_peak_bytes <= 256 * MiB
    else:  # its own MemoryError: not observable from outside, so no limit is claimed
        assert "MemoryError" in outcome.stderr and outcome.limit_hit == "none"


def test_huge_file_write_is_stopped_at_the_file_size_limit() -> None:
    outcome = run(
        """
        with open("big.bin", "wb") as handle:
            for _ in range(64):
                handle.write(b"x" * (1 << 20))
    """,
        file_bytes=1 * MiB,
    )
    assert outcome.limit_hit == "file_size"
    assert "File too large" in outcome.stderr
    assert outcome.files["big.bin"] == 1 * MiB


@needs_namespaces
def test_many_files_stop_at_the_disk_limit() -> None:
    outcome = run(
        """
        for i in range(32):
            with open(f"part{i}.bin", "wb") as handle:
                handle.write(b"x" * (1 << 20))
    """,
        file_bytes=1 * MiB,
        disk_bytes=4 * MiB,
    )
    assert outcome.limit_hit == "disk"  # the tmpfs was found full; files at the size cap come after
    assert sum(outcome.files.values()) <= 4 * MiB


def test_output_is_kept_up_to_the_cap_head_and_tail() -> None:
    outcome = run(
        """
        print("first line")
        for i in range(100_000):
            print("filler", i)
        print("last line")
    """,
        output_bytes=4096,
    )
    assert outcome.output_truncated and len(outcome.stdout) < 4200
    assert outcome.stdout.startswith("first line\n") and outcome.stdout.endswith("last line\n")
    assert "bytes left out" in outcome.stdout


@needs_namespaces
def test_writes_outside_the_folder_land_nowhere_on_the_host(tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    targets = [
        Path("/tmp") / f"hamlet-probe-{token}",
        ROOT / f"hamlet-probe-{token}",
        tmp_path / "probe",
        Path.home() / f"hamlet-probe-{token}",
        Path("/var/tmp") / f"probe-{token}",
        Path("/dev/shm") / f"probe-{token}",
        Path(sysconfig.get_paths()["purelib"]) / f"hamlet-probe-{token}.pth",
    ]  # would run at every start
    mounts_before = Path("/proc/self/mountinfo").read_text()
    outcome = run(f"""
        import os
        for target in {[str(t) for t in targets]!r}:
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w") as handle:
                    handle.write("escaped")
                print("wrote", target)
            except OSError as exc:
                print("refused", target, type(exc).__name__)
        print("root holds", sorted(os.listdir("/")))
    """)
    assert outcome.exit_code == 0, outcome.stderr
    for target in targets:
        assert not target.exists(), f"the program wrote {target} on the host"
    assert Path("/proc/self/mountinfo").read_text() == mounts_before, "a mount leaked to the host"
    # /tmp and /dev/shm are the program's own tmpfs (writes vanish with it); the repo is not there,
    # unless the checkout itself sits under /tmp, where the write lands in the program's tmpfs.
    if not ROOT.is_relative_to("/tmp"):
        assert f"refused {targets[1]}" in outcome.stdout
    top = ROOT.parts[1]
    assert top == "tmp" or top not in outcome.stdout.splitlines()[-1], "the host's tree is visible"
    assert set(outcome.files) == {"main.py"}


@needs_namespaces
def test_deleting_a_file_outside_the_folder_fails(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("alive")
    outcome = run(f"""
        import os, shutil
        for attempt in (lambda: os.remove({str(canary)!r}), lambda: shutil.rmtree({str(tmp_path)!r}),
                        lambda: os.remove("/etc/hostname"), lambda: shutil.rmtree({INSIDE_DIR!r} + "/..")):
            try:
                attempt()
                print("deleted")
            except OSError as exc:
                print("refused", type(exc).__name__)
    """)
    assert canary.read_text() == "alive"
    assert "deleted" not in outcome.stdout.split()
    assert Path("/etc/hostname").exists() == os.path.exists("/etc/hostname")


def test_network_connection_is_refused_and_never_reaches_the_host() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        outcome = run(f"""
            import socket
            try:
                socket.getaddrinfo("example.com", 80)
                print("resolved")
            except OSError as exc:
                print("no name service:", exc)
            socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"leak")
            print("connected")
        """)
        server.setblocking(False)
        with pytest.raises(BlockingIOError):  # nothing completed a handshake with our server
            server.accept()
    assert "connected" not in outcome.stdout and "resolved" not in outcome.stdout
    assert outcome.exit_code == 1 and outcome.limit_hit == "none"  # a refusal is the program's error, not a limit
    if ISOLATION == "best-effort":
        assert NETWORK_BLOCKED in outcome.stderr
    else:
        assert "ConnectionRefusedError" in outcome.stderr  # its own empty loopback answered


def test_environment_secrets_are_not_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("HAMLET_TEST_TOKEN", "sk-secret-2")
    outcome = run(f"""
        import os
        print(dict(os.environ))
        for pid in ("1", "{os.getpid()}", str(os.getppid())):
            try:
                with open(f"/proc/{{pid}}/environ", "rb") as handle:
                    print(pid, handle.read())
            except OSError as exc:
                print(pid, "unreadable:", type(exc).__name__)
    """)
    assert outcome.exit_code == 0, outcome.stderr
    assert "sk-secret" not in outcome.stdout + outcome.stderr
    env = eval(outcome.stdout.splitlines()[0])  # the program's own repr of a dict
    assert set(env) <= {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "PYTHONPATH"}


def test_best_effort_mode_still_limits_scrubs_and_refuses_python_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    outcome = run(
        """
        import os, socket
        print(sorted(os.environ), "sk-secret" in str(os.environ))
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    """,
        isolation="best-effort",
    )
    assert outcome.isolation == "best-effort"
    assert "False" in outcome.stdout and "sk-secret" not in outcome.stdout
    assert outcome.limit_hit == "none" and NETWORK_BLOCKED in outcome.stderr
    assert outcome.uid not in (0, os.geteuid())
    timed = run("import time\ntime.sleep(30)\n", isolation="best-effort", wall_seconds=1)
    assert timed.limits_hit == ["time"] and timed.wall_seconds < 4


def test_file_names_that_leave_the_folder_or_clash_are_rejected_before_anything_runs() -> None:
    for name in ("../escape.py", "/etc/passwd", "a/../../b", "", "bad\udcff.py", "nul\x00.py", "a//b.py"):
        with pytest.raises(ValueError, match="not a file name the program folder can hold"):
            run_program({name: "print(1)"})
    with pytest.raises(ValueError, match="is a folder already"):
        run_program({"util": "x = 1", "util/helpers.py": "y = 2", "main.py": "print(1)"})


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        Limits(wall_seconds=0)
    with pytest.raises(ValueError):
        Limits(isolation="chroot")


# -- best-effort: a user of its own, no secrets ----------------------------------------------

NOBODY = 65534
MODES = sorted({ISOLATION, "best-effort"})
"""Every isolation mode the sandbox can pick on this machine (auto's choice, and best-effort)."""
GUARD = """
import os, sys
if os.getuid() == 0 or os.geteuid() == 0:  # never act with root's rights: the test's precondition failed
    sys.exit("not contained: refusing to run the hostile part")
mine = []
for entry in os.listdir("/proc"):
    try:
        if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == os.getuid():
            mine.append(entry)
    except OSError:
        pass
if sorted(set(mine) - {"1"}) != [str(os.getpid())]:  # kill(-1) must reach nothing but this program (and
    # never the init of its own PID namespace, which kill(-1) spares)
    sys.exit(f"not contained: this user owns other processes: {mine}")
"""


def contained(mode: str) -> Outcome:
    """A benign probe: the mode runs programs as a fresh unprivileged user that owns no other process."""
    probe = run("import os\nprint(os.getuid(), os.getgid(), os.getgroups())\n", isolation=mode)
    uid = int(probe.stdout.split()[0])
    # In user namespaces the host sees the program as the user; inside, it is a uid of its own.
    shared = probe.uid != uid or processes_of(uid) if mode != "user-namespaces" else False
    if uid in (0, os.geteuid(), NOBODY) or shared:
        pytest.skip(f"{mode} does not run programs as a fresh unprivileged user here; no hostile program runs")
    return probe


@pytest.fixture
def open_folder() -> Any:
    """A folder under /tmp that any user may enter (pytest's own are closed to others), removed after."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="hamlet-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_best_effort_runs_as_a_fresh_user_without_the_hosts_secrets_files_or_descriptors(
    monkeypatch: pytest.MonkeyPatch, open_folder: Path
) -> None:
    from sim.runfile.log import create_run_file

    monkeypatch.setenv("OPENAI_API_KEY", "sk-best-effort-secret")
    create_run_file(open_folder / "run.db").dispose()
    (open_folder / "public.txt").write_text("anyone may read this")
    (open_folder / "root-only").mkdir(mode=0o755)
    probes = {
        "run file": f"open({str(open_folder / 'run.db')!r}, 'rb').read()",
        "public file": f"open({str(open_folder / 'public.txt')!r}).read()",
        "root-only folder": f"open({str(open_folder / 'root-only' / 'x')!r}, 'w').write('x')",
        "password hashes": "open('/etc/shadow').read()",
        "root's home": "os.listdir('/root')",
        "init's environment": "open('/proc/1/environ', 'rb').read()",
        "host's environment": f"open('/proc/{os.getpid()}/environ', 'rb').read()",
        "launcher's environment": "open(f'/proc/{os.getppid()}/environ', 'rb').read()",
    }
    outcome = run(
        f"""
        import json, os
        results = {{"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "env": sorted(os.environ),
                    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd"))}}
        for name, probe in {probes!r}.items():
            try:
                eval(probe)
                results[name] = "read"
            except OSError as exc:
                results[name] = type(exc).__name__
        print(json.dumps(results))
    """,
        isolation="best-effort",
    )
    assert outcome.exit_code == 0, outcome.stderr
    seen = json.loads(outcome.stdout)
    assert seen["uid"] == outcome.uid and seen["uid"] not in (0, os.geteuid()) and seen["gid"] == seen["uid"]
    assert seen["groups"] == [] and "sk-best-effort-secret" not in outcome.stdout
    assert set(seen["env"]) <= {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "PYTHONPATH"}
    assert len(seen["fds"]) <= 4, "descriptors of the host leaked"  # 0, 1, 2 and the listing's own
    assert seen["public file"] == "read"  # the folder is reachable: the refusals below are the files' own
    for name in probes:
        if name != "public file":
            assert seen[name] in ("PermissionError", "FileNotFoundError"), (name, seen[name])
    assert not (open_folder / "root-only" / "x").exists()


def test_without_root_best_effort_refuses_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_root", lambda: False)
    for mode in ("best-effort", "namespaces"):
        with pytest.raises(SandboxRefused, match="refused"):
            run("print('must not run')", isolation=mode)


def test_without_an_interpreter_others_may_start_best_effort_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_others_can_run", lambda path: False)
    with pytest.raises(SandboxRefused, match="no Python interpreter"):
        run("print('must not run')", isolation="best-effort")


def test_unsafe_host_user_is_asked_for_by_name_and_runs_as_this_user() -> None:
    outcome = run("import os\nprint(os.getuid(), sorted(os.environ))\n", isolation="unsafe-host-user")
    assert outcome.isolation == "unsafe-host-user" and outcome.uid == os.geteuid()
    assert outcome.stdout.split()[0] == str(os.geteuid()) and "OPENAI" not in outcome.stdout


# -- hostile programs, in every mode the sandbox can pick -------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_kill_every_process_reaches_only_the_programs_own(mode: str) -> None:
    contained(mode)
    sentinel = subprocess.Popen(["sleep", "60"])
    try:
        outcome = run(GUARD + "os.kill(-1, 9)\nprint('survived')\n", isolation=mode)
        assert sentinel.poll() is None, "kill(-1) reached a process of the host"
        # kill(-1) spares the caller itself; with nothing else it may signal, it fails with ESRCH
        assert outcome.stdout == "survived\n" or "ProcessLookupError" in outcome.stderr, outcome.stderr
        assert "not contained" not in outcome.stderr
    finally:
        sentinel.kill()
        sentinel.wait()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.slow
def test_fork_bomb_is_held_and_the_refusals_are_observed(mode: str) -> None:
    contained(mode)
    outcome = run(GUARD + FORK_BOMB, isolation=mode, processes=8, wall_seconds=2, memory_bytes=256 * MiB)
    assert "not contained" not in outcome.stderr
    assert "time" in outcome.limits_hit and outcome.signal == "SIGKILL"
    if not any("pids control group" in note for note in outcome.notes):
        assert "processes" in outcome.limits_hit
    assert not processes_of(outcome.uid), "a process of the fork bomb survived"


@pytest.mark.parametrize("mode", MODES)
def test_writes_to_system_folders_and_roots_home_are_refused(mode: str) -> None:
    contained(mode)
    token = uuid.uuid4().hex
    targets = [
        Path("/etc") / f"hamlet-probe-{token}",
        Path("/usr/local/bin") / f"hamlet-probe-{token}",
        Path("/root") / f"hamlet-probe-{token}",
        Path(sysconfig.get_paths()["purelib"]) / f"hamlet-{token}.pth",
    ]
    try:
        outcome = run(
            GUARD
            + f"""
for target in {[str(t) for t in targets]!r}:
    try:
        open(target, "w").write("escaped")
        print("wrote", target)
    except OSError as exc:
        print("refused", target, type(exc).__name__)
""",
            isolation=mode,
        )
        assert "not contained" not in outcome.stderr and "wrote" not in outcome.stdout, outcome.stdout
    finally:
        written = [t for t in targets if t.exists()]
        for target in written:
            target.unlink()
    assert not written


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.slow
def test_memory_is_limited_for_the_whole_program_not_per_process(mode: str) -> None:
    contained(mode)
    outcome = run(
        GUARD
        + """
import time
children = []
for _ in range(12):  # 12 x 100 MiB against a limit of 256 MiB for the whole program
    pid = os.fork()
    if pid == 0:
        try:
            hoard = bytearray(100 << 20)
            for i in range(0, len(hoard), 4096):
                hoard[i] = 1
        except MemoryError:
            os._exit(3)
        time.sleep(30)
        os._exit(0)
    children.append(pid)
print("forked", len(children), flush=True)
time.sleep(30)
""",
        isolation=mode,
        processes=16,
        memory_bytes=256 * MiB,
        wall_seconds=3,
    )
    assert "not contained" not in outcome.stderr
    if outcome.memory_scope != "cgroup":
        pytest.skip("no memory control group here: the per-process split is tested separately")
    assert "memory" in outcome.limits_hit
    assert outcome.memory_peak_bytes is None or outcome.memory_peak_bytes <= 256 * MiB


def test_without_a_control_group_memory_is_split_so_processes_times_share_stays_in_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox._Groups, "make", classmethod(lambda cls, limits: cls()))
    outcome = run(
        """
        import resource
        print(resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_NPROC)[0])
    """,
        memory_bytes=512 * MiB,
        processes=32,
    )
    share, processes = map(int, outcome.stdout.split())
    assert outcome.memory_scope == "split-per-process" and outcome.memory_peak_bytes is None
    assert share * processes <= 512 * MiB and share >= 64 * MiB
    assert any("no memory control group" in note for note in outcome.notes)
    assert any("no pids control group" in note for note in outcome.notes)


def test_stderr_alone_sets_no_limit() -> None:
    outcome = run("""
        import sys
        print("MemoryError Cannot allocate memory File too large No space left on device "
              "Resource temporarily unavailable Read-only file system Network is unreachable", file=sys.stderr)
        sys.exit(1)
    """)
    assert (outcome.exit_code, outcome.limits_hit, outcome.limit_hit) == (1, [], "none")


# -- what the program leaves behind -----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_deeply_nested_folders_are_the_programs_doing_not_a_machine_fault(mode: str) -> None:
    contained(mode)
    before = set(Path("/tmp").glob("hamlet-sandbox-*"))
    outcome = run(
        """
        import os
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        open("deep.txt", "w").write("bottom")
        print("done")
    """,
        isolation=mode,
    )
    assert outcome.stdout == "done\n", outcome.stderr
    assert any("more than 16 deep" in note for note in outcome.notes)
    assert set(outcome.files) == {"main.py"}
    assert not any(
        (folder / "program" / "d").exists() for folder in set(Path("/tmp").glob("hamlet-sandbox-*")) - before
    )


def test_many_files_are_listed_up_to_a_cap_and_the_cut_is_said() -> None:
    outcome = run("""
        for i in range(1500):
            open(f"f{i:04}.txt", "w").close()
    """)
    assert outcome.exit_code == 0 and len(outcome.files) <= 1000
    assert any("more than 1000 files" in note for note in outcome.notes)


@pytest.mark.parametrize("mode", MODES)
def test_file_names_that_are_not_utf8_are_escaped_and_said(mode: str) -> None:
    contained(mode)
    outcome = run(
        """
        import os
        open(b"bad\\xff.txt", "w").write("x")
        os.mkdir(b"dir\\xfe")
        open(b"dir\\xfe/in.txt", "w").write("yy")
    """,
        isolation=mode,
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.files == {"main.py": outcome.files["main.py"], "bad\\xff.txt": 1, "dir\\xfe/in.txt": 2}
    json.dumps(outcome.model_dump(), ensure_ascii=False).encode("utf-8")  # what the log writer does
    assert any("not UTF-8" in note for note in outcome.notes)


def test_best_effort_leaves_nothing_in_shared_folders_and_has_no_network_where_it_may_unshare_one() -> None:
    token = uuid.uuid4().hex
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        outcome = run(
            f"""
            import _socket, os  # _socket: past the sitecustomize that refuses Python's sockets
            for folder in ("/tmp", "/var/tmp", "/dev/shm"):
                open(f"{{folder}}/hamlet-stray-{token}", "w").write("left")
            os.makedirs("/tmp/hamlet-stray-{token}-dir/a/b")
            raw = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
            raw.settimeout(2)
            try:
                raw.connect(("127.0.0.1", {server.getsockname()[1]}))
                print("connected")
            except OSError as exc:
                print("no network:", exc)
        """,
            isolation="best-effort",
        )
        server.setblocking(False)
        reached = True
        try:
            server.accept()
        except BlockingIOError:
            reached = False
    assert outcome.exit_code == 0, outcome.stderr
    assert not list(Path("/tmp").glob(f"hamlet-stray-{token}*")) and not list(
        Path("/var/tmp").glob(f"hamlet-stray-{token}")
    )
    assert not list(Path("/dev/shm").glob(f"hamlet-stray-{token}"))
    assert any("outside its folder, removed" in note for note in outcome.notes)
    if any("no network namespace" in note for note in outcome.notes):
        pytest.skip("this machine allows no network namespace: best-effort refuses only Python's sockets (documented)")
    assert not reached and "connected" not in outcome.stdout


# -- user namespaces: a user who is not root --------------------------------------------------


@pytest.fixture
def as_a_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox as a user who is not root sees it: the launcher runs as nobody, on the system's python3."""
    if os.geteuid() != 0 or not os.path.exists("/usr/bin/python3") or not shutil.which("setpriv"):
        pytest.skip("needs root (to start the launcher as nobody), setpriv and /usr/bin/python3")
    check = subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "unshare",
            "-Urnmpf",
            "--mount-proc",
            "true",
        ],
        capture_output=True,
    )
    if check.returncode != 0:
        pytest.skip("this machine allows users no user namespaces")
    monkeypatch.setattr(sandbox, "_root", lambda: False)
    monkeypatch.setattr(
        sandbox, "_launcher", lambda: ("/usr/bin/python3", {"user": NOBODY, "group": NOBODY, "extra_groups": []})
    )
    monkeypatch.setattr(sandbox._Groups, "make", classmethod(lambda cls, limits: cls()))  # not delegated to users
    monkeypatch.setattr(sandbox.sys, "executable", "/usr/bin/python3")  # ours is under /root, closed to nobody


def test_a_user_who_is_not_root_gets_user_namespaces(as_a_user: None) -> None:
    assert available_isolation.__wrapped__() == "user-namespaces"
    outcome = run(
        """
        import os
        print(os.getuid(), sorted(os.environ))
        print(sorted(os.listdir("/")))
    """,
        isolation="user-namespaces",
    )
    assert outcome.exit_code == 0, outcome.stderr
    uid, *env = outcome.stdout.splitlines()[0].split(maxsplit=1)
    assert uid not in ("0", str(NOBODY)) and "OPENAI" not in outcome.stdout
    assert ROOT.parts[1] not in outcome.stdout.splitlines()[1] or ROOT.parts[1] == "tmp"
    assert outcome.isolation == "user-namespaces" and outcome.memory_scope == "split-per-process"


def test_in_user_namespaces_hostile_programs_reach_nothing_of_the_user_outside(as_a_user: None) -> None:
    contained("user-namespaces")
    sentinel = subprocess.Popen(["sleep", "60"], user=NOBODY, group=NOBODY, extra_groups=[])  # the same user outside
    token = uuid.uuid4().hex
    try:
        outcome = run(
            GUARD
            + f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
attempts = {{
    "chroot": lambda: os.chroot("/tmp"),
    "mount": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0 or os.strerror(ctypes.get_errno()),
    "nested user namespace": lambda: libc.unshare(0x10000000) == 0 or os.strerror(ctypes.get_errno()),
    "write /etc": lambda: open("/etc/hamlet-probe-{token}", "w").write("x"),
}}
for name, attempt in attempts.items():
    try:
        print(f"{{name}}: {{attempt()}}")
    except OSError as exc:
        print(f"{{name}}: {{type(exc).__name__}}")
os.kill(-1, 9)
""",
            isolation="user-namespaces",
        )
        assert sentinel.poll() is None, "kill(-1) reached a process of the user outside"
    finally:
        sentinel.kill()
        sentinel.wait()
    assert "not contained" not in outcome.stderr, outcome.stderr
    lines = dict(line.split(": ", 1) for line in outcome.stdout.splitlines() if ": " in line)
    for name in ("chroot", "mount", "nested user namespace", "write /etc"):
        assert lines.get(name) not in (None, "True", "None"), (name, outcome.stdout, outcome.stderr)
    assert not Path(f"/etc/hamlet-probe-{token}").exists()


@pytest.mark.slow
def test_in_user_namespaces_a_fork_bomb_is_held_and_killed(as_a_user: None) -> None:
    contained("user-namespaces")
    outcome = run(GUARD + FORK_BOMB, isolation="user-namespaces", processes=8, wall_seconds=2)
    assert "not contained" not in outcome.stderr and "time" in outcome.limits_hit
    assert not processes_of(NOBODY), "a process of the fork bomb survived"


def test_output_that_is_not_utf8_is_escaped_and_said() -> None:
    outcome = run("""
        import sys
        sys.stdout.buffer.write(b"caf\\xe9 \\xff\\n")
    """)
    assert outcome.stdout == "caf\\xe9 \\xff\n"
    assert any("stdout held bytes that are not UTF-8" in note for note in outcome.notes)
    json.dumps(outcome.model_dump(), ensure_ascii=False).encode("utf-8")
