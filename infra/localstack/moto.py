"""An embedded AWS (moto server) on loopback, in its own process, stopped by its PID.

A separate process, not in-process mocking: handlers reach it over HTTP through boto3's standard
``AWS_ENDPOINT_URL``, exactly as they reach AWS, so nothing in ``miles_core`` knows it is local.
"""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _moto_command(port: int) -> list[str]:
    beside_python = Path(sys.executable).with_name("moto_server")
    executable = str(beside_python) if beside_python.exists() else shutil.which("moto_server")
    if executable is None:
        raise RuntimeError("moto_server not found: install the dev extra (`make install`)")
    return [executable, "-H", LOOPBACK, "-p", str(port)]


@dataclass
class MotoServer:
    """A running ``moto_server`` process."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @classmethod
    def start(cls, port: int | None = None, timeout_s: float = 20.0) -> MotoServer:
        """Start moto on loopback and wait until it answers."""
        chosen = port or free_port()
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            _moto_command(chosen), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        server = cls(process, chosen)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {process.returncode} (port {chosen} taken?)")
            try:
                with urllib.request.urlopen(f"{server.endpoint_url}/moto-api/", timeout=1):  # noqa: S310
                    logger.info("moto server ready on %s (pid %d)", server.endpoint_url, process.pid)
                    return server
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        server.stop()
        raise RuntimeError(f"moto_server did not answer on {server.endpoint_url} within {timeout_s} s")

    def stop(self) -> None:
        """Terminate by PID (SIGTERM, then SIGKILL after 5 s)."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
