"""Serving session settings: threads from the CPUs really granted, no spinning, the memory arena kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from miles_core.inference.cpu_quota import cgroup_cpu_limit, default_threads, visible_cpus
from miles_core.inference.predictor import session_options


def test_cgroup_v2_quota_is_read(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n", encoding="ascii")
    assert cgroup_cpu_limit(cpu_max, tmp_path / "none", tmp_path / "none") == 1.5
    cpu_max.write_text("max 100000\n", encoding="ascii")
    assert cgroup_cpu_limit(cpu_max, tmp_path / "none", tmp_path / "none") is None


def test_cgroup_v1_quota_is_read(tmp_path: Path) -> None:
    quota, period = tmp_path / "quota", tmp_path / "period"
    quota.write_text("200000\n", encoding="ascii")
    period.write_text("100000\n", encoding="ascii")
    assert cgroup_cpu_limit(tmp_path / "absent", quota, period) == 2.0
    quota.write_text("-1\n", encoding="ascii")
    assert cgroup_cpu_limit(tmp_path / "absent", quota, period) is None


def test_an_unreadable_quota_is_no_quota(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("garbage", encoding="ascii")
    assert cgroup_cpu_limit(cpu_max, tmp_path / "q", tmp_path / "p") is None


def test_threads_never_exceed_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILES_ORT_THREADS", raising=False)
    assert 1 <= visible_cpus() <= len(os.sched_getaffinity(0))
    assert default_threads() == visible_cpus()
    monkeypatch.setenv("MILES_ORT_THREADS", "3")
    assert default_threads() == 3


def test_a_quota_below_the_mask_caps_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("miles_core.inference.cpu_quota.cgroup_cpu_limit", lambda: 1.0)
    assert visible_cpus() == 1
    monkeypatch.setattr("miles_core.inference.cpu_quota.cgroup_cpu_limit", lambda: 0.25)
    assert visible_cpus() == 1, "a fractional quota still gets one thread"


def test_session_options_do_not_spin() -> None:
    options = session_options(2)
    assert options.intra_op_num_threads == 2
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.enable_cpu_mem_arena is True
    assert session_options(1, memory_arena=False).enable_cpu_mem_arena is False
