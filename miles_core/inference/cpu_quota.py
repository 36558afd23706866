"""How many threads onnxruntime should use: the CPUs this process may really run on.

A container's affinity mask shows every host CPU even when its cgroup quota grants less time,
so the quota is read too; ``MILES_ORT_THREADS`` overrides both.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from miles_core.config import env_int

CGROUP_V2_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def cgroup_cpu_limit(
    cpu_max: Path = CGROUP_V2_CPU_MAX, quota: Path = CGROUP_V1_QUOTA, period: Path = CGROUP_V1_PERIOD
) -> float | None:
    """CPUs' worth of time the cgroup quota allows (``2.0`` for "200000 100000"), or None without a quota.

    A container limited to 1 CPU of time still sees every host CPU in its affinity mask; threads
    beyond the quota only get throttled together.
    """
    try:
        if cpu_max.is_file():
            limit, _, window = cpu_max.read_text(encoding="ascii").strip().partition(" ")
            return None if limit == "max" else int(limit) / int(window or "100000")
        if quota.is_file() and period.is_file():
            microseconds = int(quota.read_text(encoding="ascii"))
            return None if microseconds <= 0 else microseconds / int(period.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    return None


def visible_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (at least 1)."""
    cpus = len(os.sched_getaffinity(0))
    limit = cgroup_cpu_limit()
    if limit is not None:
        cpus = min(cpus, max(1, math.floor(limit)))
    return max(1, cpus)


def default_threads() -> int:
    """``MILES_ORT_THREADS`` if set (> 0), else :func:`visible_cpus`.

    Lambda shows 2 vCPUs up to 3,008 MB but grants CPU time in proportion to memory (1 vCPU at
    1,769 MB), so the template sets ``MILES_ORT_THREADS`` from the memory size it chose (measured
    CPU-seconds per item: ARCHITECTURE.md, "Serving").
    """
    configured = env_int("MILES_ORT_THREADS", 0)
    if configured > 0:
        return configured
    return visible_cpus()
