"""bench/run.py (`make bench`): how it names the machine a run was measured on, and how it judges sizes."""
import os
import sys

from harness import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import run  # noqa: E402

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
processor\t: 1
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
"""


def test_a_run_names_the_cpu_generation_and_its_caches():
    # "AMD EPYC" alone covers generations whose front ends differ: the family, the model and the
    # per-core cache sizes tell two runs' machines apart.
    assert run.cpu_details(CPUINFO, [("L1i", "32K"), ("L2", "1024K")]) == "family 26 model 2; L1i 32K; L2 1024K"
    assert run.cpu_details(CPUINFO.replace("26", "25"), [("L1i", "32K"), ("L2", None)]) == "family 25 model 2; L1i 32K"
    assert run.cpu_details("model name\t: X\n", [("L1i", None), ("L2", None)]) == ""


def test_the_caches_are_read_from_this_machine():
    sizes = dict(run.cache_sizes())
    assert set(sizes) == {"L1i", "L2"}
    if os.path.isdir("/sys/devices/system/cpu/cpu0/cache"):
        assert all(v and v[-1] in "KM" for v in sizes.values()), sizes


def test_the_size_target_is_judged_for_each_lean_build():
    import argparse
    args = argparse.Namespace(connections=16, duration=5, latency_duration=2, rounds=3)
    sizes = {run.FULL_NAME: 2_675_119, run.LEAN_NAME: 500_449, run.LEAN_MIN_NAME: 407_326}
    text, _ = run.report(args, [], {}, None, None, None, None, sizes, 0.0, 0.0, 1.0)
    assert f"[MISSED] {run.LEAN_NAME}: 488.7 KiB" in text
    assert f"[met] {run.LEAN_MIN_NAME}: 397.8 KiB" in text
    sizes[run.LEAN_MIN_NAME] = 410_000
    text, _ = run.report(args, [], {}, None, None, None, None, sizes, 0.0, 0.0, 1.0)
    assert f"[MISSED] {run.LEAN_MIN_NAME}: 400.4 KiB" in text
    del sizes[run.LEAN_MIN_NAME]
    assert "lean-min" not in run.report(args, [], {}, None, None, None, None, sizes, 0.0, 0.0, 1.0)[0]
