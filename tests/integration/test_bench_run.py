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


def test_quartiles_interpolate():
    assert run.quartiles([3, 1, 2]) == (1.5, 2, 2.5)
    assert run.quartiles([5]) == (5, 5, 5)
    assert run.quartiles([1, 2, 3, 4, 5]) == (2, 3, 4)


def turn(passthrough, bollard, pass_cpu=50.0, bollard_cpu=60.0):
    return {"passthrough wasm": {"rps": passthrough, "cpu_us": pass_cpu},
            "contract calls wasm": {"rps": passthrough, "cpu_us": pass_cpu},
            "bollard allow": {"rps": bollard, "cpu_us": bollard_cpu}}


def test_head_to_head_ratios_are_taken_within_each_turn():
    # The machine is twice as fast in the second turn: the ratio of the medians across turns
    # (9,500 / 15,000) would mix turns, the median of the ratios within turns does not.
    turns = [turn(10_000, 9_500, 50, 62.5), turn(20_000, 16_000, 25, 27.5), turn(15_000, 8_000, 50, 55)]
    h = run.paired(turns, "bollard allow", "passthrough wasm")
    assert h["turns"] == 3
    assert h["rps"][1] == 0.8
    assert h["met"] == 1
    assert abs(h["cap"][1] - 50 / 55) < 1e-9
    assert h["cpu_added"][1] == 5.0
    # A turn that lacks either side is left out.
    assert run.paired(turns + [{"bollard allow": {"rps": 1, "cpu_us": 1}}], "bollard allow", "passthrough wasm")["turns"] == 3


def test_the_throughput_target_is_judged_head_to_head():
    import argparse
    args = argparse.Namespace(connections=16, duration=5, latency_duration=2, rounds=0, pair_duration=2)
    pin = {"pinned": False, "loads": [], "turns": [turn(10_000, 8_000), turn(10_000, 8_400), turn(10_000, 9_000)]}
    text, _ = run.report(args, [], {}, pin, None, None, None, {run.FULL_NAME: 1}, 0.0, 0.0, 1.0)
    assert "Head to head, direct route: 3 turns" in text
    assert "[MISSED] bollard allow, direct, head to head: throughput 0.840 x pass-through" in text
    assert "25th-75th percentile 0.820-0.870" in text
    pin["turns"].append(turn(10_000, 9_500))
    text, _ = run.report(args, [], {}, pin, None, None, None, {run.FULL_NAME: 1}, 0.0, 0.0, 1.0)
    assert "[met] bollard allow, direct, head to head: throughput 0.870 x" in text
    assert "turns >= 0.85: 2/4" in text
