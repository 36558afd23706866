"""What the benchmark ran on: CPU model and the instruction sets that change which kernels run.

onnxruntime picks its int8 kernels by CPU (AVX2's VPMADDUBSW vs AVX-512 VNNI), and numpy/torch pick
theirs too, so a number without the CPU next to it cannot be compared with another machine's.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
"""/proc/cpuinfo flag names: AVX2 (+FMA) is the x86-64 baseline Lambda guarantees; the rest are optional."""


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """CPU model name and the ISA flags of the first processor listed in ``/proc/cpuinfo`` text."""
    model = "unknown"
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return {"cpu_model": model, "isa": {flag: flag in flags for flag in ISA_FLAGS}}


def describe_machine() -> dict[str, Any]:
    """CPU model, ISA flags, visible CPUs and Python version of this process's machine."""
    cpuinfo = Path("/proc/cpuinfo")
    described = parse_cpuinfo(cpuinfo.read_text(encoding="utf-8")) if cpuinfo.is_file() else parse_cpuinfo("")
    return {
        **described,
        "cpus": len(os.sched_getaffinity(0)),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
