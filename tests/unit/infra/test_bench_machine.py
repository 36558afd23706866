"""The benchmark records which CPU and instruction sets produced its numbers."""

from __future__ import annotations

from infra.bench.machine import ISA_FLAGS, describe_machine, parse_cpuinfo

AVX2_ONLY_EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7R32
flags\t\t: fpu sse sse2 avx avx2 fma bmi2
processor\t: 1
model name\t: AMD EPYC 7R32
flags\t\t: fpu sse sse2 avx avx2 fma bmi2 avx512f avx512_vnni
"""


def test_parses_the_first_processor() -> None:
    described = parse_cpuinfo(AVX2_ONLY_EPYC)
    assert described["cpu_model"] == "AMD EPYC 7R32"
    assert described["isa"]["avx2"] is True
    assert described["isa"]["fma"] is True
    assert described["isa"]["avx512f"] is False
    assert described["isa"]["avx512_vnni"] is False


def test_unknown_cpu_is_said_so() -> None:
    assert parse_cpuinfo("") == {"cpu_model": "unknown", "isa": dict.fromkeys(ISA_FLAGS, False)}


def test_this_machine_is_described() -> None:
    machine = describe_machine()
    assert machine["cpus"] >= 1
    assert set(machine["isa"]) == set(ISA_FLAGS)
