"""bench/run.py (`make bench`): how it names the machine a run was measured on."""
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
