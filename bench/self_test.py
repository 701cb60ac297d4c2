# `bench_moe.py --self-test`: checks the parts of the benchmark that need no GPU (floor arithmetic against the
# spec's figures, copy counts, routing, row specs, CLI, table/JSON/Markdown) with NumPy, and, when torch is
# importable, the NVFP4 decoding and the torch._grouped_mm peer on the CPU against float64 references.
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import re
import sys
import traceback
from pathlib import Path
from typing import Callable

import numpy as np

import ab
import bench_moe
import kernel_timeline
import ncu_stalls
import sass_diff
import sass_loops
from moe_report import KernelTime, Row, covered_us, format_markdown, format_table, results_json, slug
from moe_routing import SKEW_HOT_EXPERTS, SKEWED, UNIFORM, make_routing, softmax_topk
from moe_shapes import SHAPES, copies_to_defeat_l2, copies_within_budget, moe_floor

H100_COPY = 3.0e12  # benchmarking.md: the H100's ceilings as seen here
H100_BF16 = 785e12
H100_L2 = 50 * 2**20

CHECKS: list[Callable[[], None]] = []


def check(fn: Callable[[], None]) -> Callable[[], None]:
  CHECKS.append(fn)
  return fn


def expect(condition: bool, message: str) -> None:
  if not condition:
    raise AssertionError(message)


def expect_refused(parse: Callable[[list[str]], object], argvs) -> None:
  """Each command line in argvs must make the argparse parser `parse` exit."""
  for bad in argvs:
    try:
      with contextlib.redirect_stderr(io.StringIO()):  # argparse prints its usage there
        parse(bad)
    except SystemExit:
      continue
    raise AssertionError(f"{bad} must be refused")


@check
def floor_at_one_token_matches_the_spec() -> None:
  # benchmarking.md: "the floor at 1 token is 7 us (qwen3), 19 us (gpt-oss), 28 us (deepseek-v4-flash),
  # 66 us (deepseek-v3)", with the touched experts = top_k.
  for name, spec_us in (("qwen3-30b-a3b", 7), ("gpt-oss-120b", 19), ("deepseek-v4-flash", 28), ("deepseek-v3", 66)):
    shape = SHAPES[name]
    floor = moe_floor(shape, 1, shape.top_k, H100_COPY, H100_BF16)
    expect(abs(floor.seconds * 1e6 - spec_us) < 0.05 * spec_us, f"{name}: floor {floor.seconds * 1e6:.2f} us")
    expect(floor.bound == "memory", f"{name}: one token must be memory-bound")


@check
def floor_arithmetic() -> None:
  shape = SHAPES["deepseek-v3"]
  floor = moe_floor(shape, 16384, 256, H100_COPY, H100_BF16)
  flops = 2 * 16384 * 8 * 3 * 7168 * 2048
  expect(floor.flops == flops, f"flops {floor.flops} != {flops}")
  expect(floor.bytes == 256 * 3 * 7168 * 2048 * 0.5625 + 2 * 16384 * 7168 * 2, f"bytes {floor.bytes}")
  expect(floor.bound == "compute" and math.isclose(floor.seconds, flops / H100_BF16), "16384 tokens: compute-bound")
  # --bias on: each touched expert adds its FP32 gate, up and down biases, 4 * (2 * 768 + 2048) bytes for qwen3 (as
  # the CLI's floor, tests/cli/test_bench_plan.cpp).
  qwen3 = SHAPES["qwen3-30b-a3b"]
  plain, biased = moe_floor(qwen3, 1, 8, H100_COPY, H100_BF16), moe_floor(qwen3, 1, 8, H100_COPY, H100_BF16, biases=True)
  expect(biased.bytes == plain.bytes + 8 * 14336 and biased.flops == plain.flops, f"bias bytes {biased.bytes}")


@check
def weight_copies() -> None:
  qwen3 = SHAPES["qwen3-30b-a3b"]
  touched_bytes = 8 * qwen3.nvfp4_expert_bytes()  # 21.2 MB: 4 x 50 MiB needs 10 copies
  expect(copies_to_defeat_l2(touched_bytes, H100_L2) == 10, f"{copies_to_defeat_l2(touched_bytes, H100_L2)}")
  expect(copies_to_defeat_l2(4 * H100_L2, H100_L2) == 1, "a copy of 4 L2 sizes needs no rotation")
  expect(copies_within_budget(10, 1e9, 3.5e9) == 3, "budget caps the copies")
  expect(copies_within_budget(10, 1e9, 0.5e9) == 1, "at least one copy")
  expect(copies_within_budget(2, 1e9, 40e9) == 2, "no more than wanted")
  dsv3 = SHAPES["deepseek-v3"]
  expect(abs(dsv3.experts * dsv3.bf16_expert_bytes() / 1e9 - 22.5) < 0.1, "deepseek-v3 BF16 layer is 22.5 GB")


@check
def cli_rules_match() -> None:
  # `fp4moe bench` (src/cli/bench_plan.*, bench_weights.h) restates this benchmark's rules in C++: same shapes, row
  # and copy rules, calibration sample.
  import moe_routing  # noqa: PLC0415
  import moe_shapes  # noqa: PLC0415

  cli = Path(__file__).resolve().parent.parent / "src" / "cli"
  text = "".join((cli / name).read_text() for name in ("bench_plan.h", "bench_plan.cpp", "bench_weights.h"))
  shapes = re.findall(r'\{"([a-z0-9.-]+)", (\d+), (\d+), (\d+), (\d+)\}', text)
  ours = {s.name: (s.experts, s.hidden, s.intermediate, s.top_k) for s in SHAPES.values()}
  expect({name: tuple(int(v) for v in sizes) for name, *sizes in shapes} == ours, f"the CLI's shapes: {shapes}")
  expect([name for name, *_ in shapes] == list(SHAPES), "the CLI's shapes in the spec's order")

  def constant(name: str) -> float:
    found = re.search(rf"\b{name} = ([0-9.]+)f?;", text)
    expect(found is not None, f"{name} not found in src/cli/bench_plan.* or bench_weights.h")
    return float(found.group(1))

  for cpp, py in (("kNvfp4BytesPerElement", moe_shapes.NVFP4_BYTES_PER_ELEMENT),
                  ("kL2RotationFactor", moe_shapes.L2_ROTATION_FACTOR),
                  ("kSkewMinTokens", bench_moe.SKEW_MIN_TOKENS),
                  ("kSkewHotExperts", moe_routing.SKEW_HOT_EXPERTS),
                  ("kSkewLogitBoost", moe_routing.SKEW_LOGIT_BOOST)):
    expect(constant(cpp) == py, f"{cpp} = {constant(cpp)}, the benchmark's {py}")
  # moe_run.py imports torch, which this test does without: its constant is read from its text.
  calibration = re.search(r"^CALIBRATION_TOKENS = (\d+)", (Path(__file__).parent / "moe_run.py").read_text(), re.M)
  expect(calibration is not None and constant("kCalibrationTokens") == int(calibration.group(1)),
         f"kCalibrationTokens = {constant('kCalibrationTokens')}, moe_run.py's CALIBRATION_TOKENS")


def _brute_force_topk(logits: np.ndarray, k: int) -> np.ndarray:
  p = np.exp(logits.astype(np.float64) - logits.max())
  return np.array(sorted(range(len(p)), key=lambda e: (-p[e], e))[:k])


@check
def uniform_routing() -> None:
  r = make_routing(UNIFORM, 37, 16, 4, seed=5)
  expect(r.topk_ids.shape == (37, 4) and r.topk_ids.dtype == np.int32, "ids [T, k] int32")
  expect(r.topk_weights.shape == (37, 4) and r.topk_weights.dtype == np.float32, "weights [T, k] float32")
  expect(all(len(set(row)) == 4 for row in r.topk_ids), "distinct experts per token")
  expect(r.topk_ids.min() >= 0 and r.topk_ids.max() < 16, "ids in range")
  expect(np.allclose(r.topk_weights.sum(axis=1), 1, atol=1e-6), "weights renormalised")
  expect(np.all(np.diff(r.topk_weights, axis=1) <= 0), "weights in descending order")
  expect(r.touched == len(set(r.topk_ids.ravel().tolist())), "touched = distinct ids")
  again = make_routing(UNIFORM, 37, 16, 4, seed=5)
  expect(np.array_equal(again.topk_ids, r.topk_ids), "fixed seed: same routing")
  expect(not np.array_equal(make_routing(UNIFORM, 37, 16, 4, seed=6).topk_ids, r.topk_ids), "seed changes routing")
  rng = np.random.default_rng(1)
  logits = rng.standard_normal((9, 12)).astype(np.float32)
  ids, _ = softmax_topk(logits, 3)
  for t in range(9):
    expect(np.array_equal(ids[t], _brute_force_topk(logits[t], 3)), f"token {t}: top-k differs from brute force")
  tied, _ = softmax_topk(np.zeros((2, 6), np.float32), 3)
  expect(tied.tolist() == [[0, 1, 2], [0, 1, 2]], "ties go to the lower expert id")


@check
def uniform_routing_touches_what_the_spec_expects() -> None:
  one = make_routing(UNIFORM, 1, 256, 8, seed=1234)
  expect(one.touched == 8, "one token touches top_k experts")
  many = make_routing(UNIFORM, 4096, 256, 8, seed=1234)
  expect(many.touched == 256, "4096 tokens touch every expert")


@check
def skewed_routing() -> None:
  for k in (4, 8):
    r = make_routing(SKEWED, 1000, 64, k, seed=3)
    expect(len(r.hot_experts) == SKEW_HOT_EXPERTS, "4 hot experts")
    has_all_hot = [set(r.hot_experts) <= set(row.tolist()) for row in r.topk_ids]
    expect(sum(has_all_hot) >= 500, f"half the tokens go to the hot experts, got {sum(has_all_hot)}")
    expect(sum(has_all_hot) < 520, "the other half is routed like the uniform case")
    if k == 4:
      expect(all(sorted(row.tolist()) == list(r.hot_experts) for row, hot in zip(r.topk_ids, has_all_hot) if hot),
             "k = 4: a skewed token reads only the hot experts")


@check
def single_row_arguments() -> None:
  p = argparse.ArgumentParser()
  bench_moe.add_row_arguments(p)
  a = p.parse_args(["qwen3-30b-a3b", "64"])
  expect((a.shape, a.tokens, a.mode, a.routing) == ("qwen3-30b-a3b", 64, "w4a16", UNIFORM), "a row's defaults")
  a = p.parse_args(["deepseek-v3", "8", "--mode", "w4a4", "--routing", "skewed"])
  expect((a.mode, a.routing) == ("w4a4", SKEWED), "--mode, --routing")
  expect_refused(p.parse_args, (["llama", "8"], ["qwen3-30b-a3b", "x"], ["qwen3-30b-a3b", "8", "--mode", "w8a8"]))


@check
def row_specs_and_cli() -> None:
  expect(bench_moe.row_specs([1, 64], "on") == [(1, UNIFORM), (64, UNIFORM), (64, SKEWED)], "skewed on")
  expect(bench_moe.row_specs([1, 64], "only") == [(64, SKEWED)], "skewed only")
  expect(bench_moe.row_specs([1, 64], "off") == [(1, UNIFORM), (64, UNIFORM)], "skewed off")
  args = bench_moe.parse_args([])
  expect([s.name for s in args.shape_list] == list(SHAPES), "default: every shape")
  expect(args.token_list == [1, 8, 64, 512, 4096, 16384] and args.modes == ["w4a16", "w4a4"], "default tokens, modes")
  quick = bench_moe.parse_args(["--quick", "--modes", "w4a4"])
  expect(len(quick.shape_list) == 2 and quick.modes == ["w4a4"] and quick.target_ms < args.target_ms, "--quick")
  expect(args.gemm is None and bench_moe.parse_args(["--gemm", "mma32"]).gemm == "mma32", "--gemm")
  expect(args.w4a4_scales == "dynamic" and args.epilogue_quantize == "on", "default W4A4 scales and epilogue rule")
  expect(args.own_tiles == "on" and bench_moe.parse_args(["--own-tiles", "off"]).own_tiles == "off", "--own-tiles")
  expect(args.split_waves == "on" and bench_moe.parse_args(["--split-waves", "off"]).split_waves == "off",
         "--split-waves")
  expect(bench_moe.rule_switch_env(bench_moe.parse_args(["--split-waves", "off", "--large-tiles", "off"])) ==
         {"FP4MOE_LARGE_TILES": "0", "FP4MOE_PERSISTENT_DOWN": "1", "FP4MOE_EPILOGUE_QUANTIZE": "1",
          "FP4MOE_SPLIT_WAVES": "0", "FP4MOE_OWN_TILES": "1", "FP4MOE_TILE_HANDOFF": "1",
          "FP4MOE_SORTED_ROWS": "1", "FP4MOE_FEWER_CTAS": "1", "FP4MOE_GEMM2_K_SPLIT": "1", "FP4MOE_Y_IN_L2": "1"},
         "every rule switch's variable, on unless turned off")
  expect(bench_moe.parse_args(["--w4a4-scales", "calibrated"]).w4a4_scales == "calibrated", "--w4a4-scales")
  expect((bench_moe.parse_args([]).bias, bench_moe.parse_args(["--bias", "on"]).bias) == ("off", "on"), "--bias")
  expect_refused(bench_moe.parse_args, (["--modes", "w8a8"], ["--shapes", "llama"], ["--tokens", "0"],
                                        ["--tokens", "x"], ["--w4a4-scales", "static"], ["--bias", "yes"],
                                        ["--bias", "on", "--marlin-lib", "libpeer_marlin.so"]))


def _sample_rows() -> list[Row]:
  good = Row("qwen3-30b-a3b", 128, 2048, 768, 8, "w4a16", 1, UNIFORM, touched=8, floor_us=7.08, floor_bound="memory",
             floor_bytes=21.24e6, floor_flops=2 * 8 * 3 * 2048 * 768, ours_us=14.16, ours_gemm_us=10.0, ours_runs=20,
             ours_copies=10, peer_us=76.0, peer_gemm_us=60.0, rel_err_vs_peer=3.1e-3, bf16_ceiling_tflop_s=785.0,
             ours_kernels=[KernelTime("fp4moe_gemm1", 6.0, 1.0), KernelTime("fp4moe_gemm2", 4.0, 1.0)])
  good.derive()
  failed = Row("deepseek-v3", 256, 7168, 2048, 8, "w4a4", 16384, SKEWED, touched=256, floor_us=14700.0,
               error="ours: OutOfMemoryError: CUDA out of memory")
  failed.derive()
  flagged = Row("gpt-oss-120b", 128, 2880, 2880, 4, "w4a16", 64, UNIFORM, ours_us=50.0, peer_us=100.0,
                rel_err_vs_peer=float("nan"), accuracy_flag="ours vs peer relative error nan > 0.02")
  flagged.derive()
  return [good, failed, flagged]


@check
def row_ratios() -> None:
  good = _sample_rows()[0]
  expect(math.isclose(good.ours_over_floor, 2.0), f"ours/floor {good.ours_over_floor}")
  expect(math.isclose(good.achieved_tb_s, 21.24e6 / 14.16e-6 / 1e12), "TB/s = floor bytes / time")
  expect(math.isclose(good.achieved_tflop_s, good.floor_flops / 14.16e-6 / 1e12), "TFLOP/s = operations / time")
  expect(math.isclose(good.peer_over_ours, 76.0 / 14.16), "peer/ours")
  expect(math.isclose(good.of_bf16_ceiling, good.achieved_tflop_s / 785.0), "fraction of the BF16 ceiling")
  expect(math.isclose(good.ours_over_peer_gemms, 14.16 / 60.0), "ours / peer GEMMs")


@check
def gemm_time_is_the_union_of_intervals() -> None:
  # Kernels chained by programmatic dependent launch overlap: GEMM 2 starting during GEMM 1's tail.
  expect(covered_us([]) == 0.0, "nothing ran")
  expect(math.isclose(covered_us([(0.0, 10.0), (8.0, 15.0)]), 15.0), "overlap counted once")
  expect(math.isclose(covered_us([(20.0, 25.0), (0.0, 10.0), (2.0, 4.0)]), 15.0), "a gap and a nested interval")
  expect(math.isclose(covered_us([(0.0, 5.0), (5.0, 9.0)]), 9.0), "touching intervals")


@check
def kernel_timeline_spans() -> None:
  gate_up = ("void fp4moe::cuda::(anonymous namespace)::grouped_gemm_nvfp4_wgmma_kernel<fp4moe::cuda::MmaTile<8, 2, 48, 7, "
             "0, true, 1, 2>, fp4moe::cuda::GateUpEpilogue>(fp4moe::cuda::PackedExpertWeights)")
  expect(kernel_timeline.kernel_label(gate_up) == "grouped_gemm_nvfp4_wgmma_kernel<8, 2, 48, 7, 0, true, 1, 2> GateUp",
         kernel_timeline.kernel_label(gate_up))
  decode = ("void fp4moe::cuda::(anonymous namespace)::decode_gemm_kernel<fp4moe::cuda::MmaTile<4, 1, 8, 8, 4, false, 4, "
            "1>, (fp4moe::cuda::(anonymous namespace)::DecodeGemm)1>(fp4moe::cuda::GemmInput, std::conditional<((fp4moe::"
            "cuda::(anonymous namespace)::DecodeGemm)1)==((fp4moe::cuda::(anonymous namespace)::DecodeGemm)0), "
            "fp4moe::cuda::GateUpOutput, fp4moe::cuda::DownOutput>::type)")
  expect(kernel_timeline.kernel_label(decode).endswith("> Down"), "the decode kernel's own argument names its GEMM")
  expect(kernel_timeline.kernel_label("fp4moe::cuda::(anonymous namespace)::combine_kernel(float const*)") ==
         "combine_kernel", "a plain kernel")
  # Three forwards 100 us apart, each a plan, a GEMM launched early beside it and a combine; unsorted, and the
  # middle forward's GEMM 2 us later than the others'.
  events = []
  for f, late in ((0, 0.0), (1, 2.0), (2, 0.0)):
    t = 100.0 * f
    events += [(t + 50.0 + late, t + 90.0, "gemm"), (t, t + 10.0, "plan"), (t + 85.0, t + 99.0, "combine")]
  spans, period = kernel_timeline.forward_spans(events, 3)
  expect(period == 100.0, f"period {period}")
  expect([s.label for s in spans] == ["plan", "gemm", "combine"], "kernels in start order")
  expect(spans[1].start_us == 52.0 and spans[1].end_us == 90.0, "the middle forward's times (the only one kept)")
  try:
    kernel_timeline.forward_spans(events[:-1], 3)
    expect(False, "8 records for 3 forwards accepted")
  except ValueError as e:
    expect("8 kernel records for 3 forwards" in str(e), str(e))


@check
def table_json_markdown() -> None:
  rows = _sample_rows()
  table = format_table(rows).splitlines()
  for header in ("ours us", "gemms us", "floor us", "ours/floor", "TB/s", "TFLOP/s", "of BF16", "peer us",
                 "peer gemms us", "peer/ours", "ours/peer gemms"):
    expect(header in table[0], f"table header lacks {header!r}")
  expect(len({len(line) for line in table[:5]}) == 1, "table columns aligned")
  expect(any(line.startswith("ERROR deepseek-v3 w4a4 T=16384 skewed") for line in table), "errors listed")
  expect(any(line.startswith("ACCURACY gpt-oss-120b") for line in table), "accuracy flags listed")
  ceilings = {"copy_tb_s": 3.0, "bf16_tflop_s": 785.0}
  settings = {"l2_bytes": H100_L2}
  record = json.loads(results_json("NVIDIA H100 80GB HBM3", ceilings, settings, rows))
  expect(record["device"] == "NVIDIA H100 80GB HBM3" and record["ceilings"] == ceilings, "device and ceilings")
  expect(len(record["rows"]) == 3 and record["rows"][2]["rel_err_vs_peer"] is None, "NaN becomes null")
  expect(record["rows"][0]["ours_kernels"][0]["name"] == "fp4moe_gemm1", "kernel list recorded")
  md = format_markdown("NVIDIA H100 80GB HBM3", ceilings, settings, rows).splitlines()
  table_lines = [line for line in md if line.startswith("|")]
  expect(len(table_lines) == 5 and len({line.count("|") for line in table_lines}) == 1, "markdown table shape")
  expect(not any("FP4MOE_GEMM" in line for line in md), "no forced-kernel line unless forced")
  forced = format_markdown("NVIDIA H100 80GB HBM3", ceilings, {**settings, "gemm": "mma32"}, rows)
  expect("FP4MOE_GEMM=mma32" in forced, "a forced GEMM kernel is stated above the table")
  expect(not any("calibrated" in line for line in md), "no calibrated-scales line unless calibrated")
  calibrated = format_markdown("NVIDIA H100 80GB HBM3", ceilings, {**settings, "w4a4_scales": "calibrated"}, rows)
  expect("calibrated input scales" in calibrated, "calibrated W4A4 scales are stated above the table")
  expect(not any("=0)" in line for line in md), "no rule-off line while every rule is on")
  own_off = format_markdown("NVIDIA H100 80GB HBM3", ceilings, {**settings, "own_tiles": "off"}, rows)
  expect("FP4MOE_OWN_TILES=0" in own_off and "FP4MOE_SPLIT_WAVES=0" not in own_off, "a rule turned off is stated")
  expect(slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3", slug("NVIDIA H100 80GB HBM3"))
  expect("marlin" not in table[0] and not any("Marlin" in line for line in md), "no Marlin columns without Marlin")


@check
def marlin_columns() -> None:
  rows = _sample_rows()
  rows[0].marlin_us, rows[0].marlin_gemm_us, rows[0].marlin_err_vs_peer = 28.32, 25.0, 4.0e-3
  rows[0].derive()
  expect(math.isclose(rows[0].marlin_over_ours, 2.0), f"marlin/ours {rows[0].marlin_over_ours}")
  table = format_table(rows).splitlines()
  for header in ("marlin us", "marlin gemms us", "marlin/ours", "marlin err"):
    expect(header in table[0], f"table header lacks {header!r}")
  expect(len({len(line) for line in table[:5]}) == 1, "table columns aligned")
  expect("2.00" in table[2] and table[3].split()[-4:] == ["-"] * 4, "Marlin figures where measured, '-' elsewhere")
  md = format_markdown("NVIDIA H200", {"copy_tb_s": 4.0, "bf16_tflop_s": 780.0},
                       {"l2_bytes": H100_L2, "marlin_lib": "build-marlin/libpeer_marlin.so"}, rows)
  expect("vLLM's NVFP4 Marlin MoE" in md, "the Markdown says what the Marlin columns are")


@check
def ab_compare() -> None:
  def run(base_us: float) -> dict:
    return {("qwen3-30b-a3b", "w4a16", 8, UNIFORM): base_us, ("deepseek-v3", "w4a16", 64, UNIFORM): 2 * base_us}

  only_in_one = {("gpt-oss-120b", "w4a16", 1, UNIFORM): 1.0}
  rows = ab.compare([run(100.0), run(110.0), {**run(90.0), **only_in_one}], [run(80.0), run(88.0)])
  expect([r.key for r in rows] == list(run(1.0)), f"rows in every run, base order: {[r.key for r in rows]}")
  expect(rows[0].base_us == 100.0 and rows[0].new_us == 84.0, f"medians: {rows[0]}")
  expect(abs(rows[0].ratio - 0.84) < 1e-12 and abs(rows[1].ratio - 0.84) < 1e-12, "new/base")
  expect(abs(rows[0].base_spread - (110.0 / 90.0 - 1)) < 1e-12 and abs(rows[0].new_spread - 0.1) < 1e-12, "spreads")
  table = ab.format_compare(rows, "main", "branch")
  expect("| main us | branch us |" in table and "| 0.840 |" in table, table)
  try:
    ab.compare([], [run(1.0)])
    raise AssertionError("compare accepted a side with no runs")
  except ValueError:
    pass
  # The stored A/B of the register ring, as ab.py would have read it (bench/results/README.md).
  folder = Path(__file__).resolve().parent / "results" / "h200-register-ring-sweep"
  base, new = folder / "ab-decode-base.json.gz", folder / "ab-decode-new.json.gz"
  stored = ab.compare([ab.load_times(base)], [ab.load_times(new)])
  dsv3 = [r for r in stored if r.key == ("deepseek-v3", "w4a16", 64, UNIFORM)]
  expect(len(stored) == 16 and len(dsv3) == 1 and 0.88 < dsv3[0].ratio < 0.90, f"stored A/B: {dsv3}")
  # --kernel: one kernel's time per forward from each row's profile (a stored run with profiles).
  run_json = Path(__file__).resolve().parent / "results" / "h200-h-pairs" / "m-1" / "nvidia-h200.json.gz"
  layer, gemm1 = ab.load_times(run_json), ab.load_times(run_json, "GateUp")
  expect(gemm1.keys() == layer.keys() and all(0 < gemm1[k] < layer[k] for k in layer),
         "GEMM 1 has a time in every row, below the whole layer's")
  gemms = ab.load_times(run_json, "GateUp|[Dd]own")
  expect(all(gemms[k] > gemm1[k] for k in layer), "several kernels' times add up")
  expect(ab.load_times(run_json, "no such kernel") == {}, "rows without a matching kernel are left out")
  captioned = ab.format_compare(rows, "main", "branch", "GateUp")
  expect(captioned.startswith("Our kernels matching /GateUp/") and captioned.endswith(table), captioned)
  # `fp4moe bench --json` files: the mode is the file's, the time the row's "us" (a stored CLI A/B).
  cli = Path(__file__).resolve().parent / "results" / "h200-activation-once" / "call2"
  cli_rows = ab.compare([ab.load_times(cli / f"main-r{i}.json") for i in (1, 2, 3)],
                        [ab.load_times(cli / f"new-r{i}.json") for i in (1, 2, 3)])
  gpt_oss_2 = [r for r in cli_rows if r.key == ("gpt-oss-120b", "w4a16", 2, UNIFORM)]
  expect(len(cli_rows) == 18 and len(gpt_oss_2) == 1 and 0.96 < gpt_oss_2[0].ratio < 0.98, f"CLI A/B: {gpt_oss_2}")


# ---- torch parts, on the CPU (skipped when torch is not installed)


def _e4m3_to_float(bits: np.ndarray) -> np.ndarray:
  """Independent of torch's float8: sign, 4 exponent bits (bias 7), 3 mantissa bits, subnormals at exponent 0."""
  bits = bits.astype(np.int64)
  sign = np.where(bits & 0x80, -1.0, 1.0)
  exponent, mantissa = (bits >> 3) & 0xF, bits & 0x7
  normal = (1 + mantissa / 8) * np.exp2(exponent - 7.0)
  subnormal = mantissa / 8 * 2.0**-6
  return sign * np.where(exponent == 0, subnormal, normal)


def _numpy_dequant(packed: np.ndarray, scales: np.ndarray, row_scale_2: np.ndarray) -> np.ndarray:
  magnitudes = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], np.float64)
  codes = np.stack([packed & 0xF, packed >> 4], axis=-1).reshape(*packed.shape[:-1], -1)
  values = np.where(codes & 8, -1.0, 1.0) * magnitudes[codes & 7]
  block_scales = np.repeat(_e4m3_to_float(scales), 16, axis=-1)
  return values * block_scales * row_scale_2[..., None]


def _small_case(torch, biases: bool = False):
  from moe_shapes import MoeShape  # noqa: PLC0415
  from nvfp4_torch import random_nvfp4_experts  # noqa: PLC0415

  shape = MoeShape("tiny", 8, 64, 32, 2)
  return shape, random_nvfp4_experts(shape, seed=11, device="cpu", biases=biases)


@check
def ncu_stall_summary() -> None:
  import gzip  # noqa: PLC0415
  import tempfile  # noqa: PLC0415

  # The layout of `ncu --page source --csv --print-source sass`: a kernel-name line, the header, a row per instruction.
  header = ["Address", "Source", ncu_stalls.SAMPLES, "Warp Stall Sampling (Not-issued Samples)", ncu_stalls.EXECUTED,
            "stall_barrier", "stall_long_sb", "stall_wait", "stall_barrier (Not Issued)"]
  rows = [["0x7f0000001010", "  @!P1  BRA 0x7f0000001000", "30", "29", "100", "0", "30", "0", "0"],
          ["0x7f0000001000", "  LDC R1, c[0x0][0x28]", "10", "10", "64", "0", "4", "6", "0"],
          ["0x7f0000001420", "  HGMMA.64x128x16.F32.BF16 R24, R152, gdesc[UR16], R24", "20", "15", "8", "0", "0", "20", "0"],
          ["0x7f0000001430", "  WARPGROUP.DEPBAR.LE gsb0, 0x0", "40", "40", "8", "40", "0", "0", "9"]]
  with tempfile.TemporaryDirectory() as d:
    path = Path(d) / "k-source.csv.gz"
    with gzip.open(path, "wt", newline="") as f:
      f.write('"Kernel Name","void k()",\n')
      f.write("\n".join(",".join(f'"{c}"' for c in r) for r in [header] + rows) + "\n")
    instructions = ncu_stalls.read_source_csv(path)
    expect([i.offset for i in instructions] == [0, 0x10, 0x420, 0x430], "offsets from the first instruction, sorted")
    expect(instructions[1].opcode == "BRA" and instructions[2].opcode == "HGMMA", "opcodes past a predicate, no suffix")
    expect(dict(ncu_stalls.by_reason(instructions)) == {"barrier": 40, "long_sb": 34, "wait": 26},
           f"samples by reason (issued and not-issued columns apart): {dict(ncu_stalls.by_reason(instructions))}")
    ranges = ncu_stalls.by_range(instructions, 0x400)
    expect([(start, samples, executed) for start, samples, executed, _ in ranges] == [(0, 40, 164), (0x400, 60, 16)],
           f"samples and executed instructions per range: {ranges}")
    expect(ranges[1][3] == ["HGMMA"], "notable opcodes of a range")
    text = ncu_stalls.report(instructions, 2, 0x400)
    expect("4 instructions, 100 samples" in text and "40.0%" in text and "barrier 40.0%" in text, text)
    bad = Path(d) / "not-ncu.csv"
    bad.write_text("a,b\n1,2\n")
    try:
      ncu_stalls.read_source_csv(bad)
      raise AssertionError("a CSV without the source page's header must be rejected")
    except ValueError as e:
      expect("not an ncu source-page CSV" in str(e), f"error names what was expected: {e}")


@check
def sass_loop_lengths() -> None:
  # The layout of `cuobjdump -sass`: a Function line per kernel, then one instruction per line with its
  # address in a comment. Kernel k: a prologue, an outer loop (0x10-0x90) around an inner one (0x20-0x70)
  # with one HGMMA and two of the decoding's instructions (one with a .reuse operand); a loop without an
  # MMA (0xa0-0xb0) is left out.
  code = [(0x00, "MOV R1, c[0x0][0x28]"), (0x10, "S2UR UR9, SR_CgaCtaId"),
          (0x20, "SYNCS.PHASECHK.TRANS64.TRYWAIT P1, [UR12+0x1a040], R8"),
          (0x30, "LOP3.LUT R44, R8.reuse, 0x81c081c0, RZ, 0xc0, !PT"), (0x40, "HMUL2.BF16_V2 R44, R44, R11.H0_H0"),
          (0x50, "HGMMA.64x32x16.F32.BF16 R48, R44, gdesc[UR8], R48, gsb0"), (0x60, "UIADD3 UR6, UR6, 0x1, URZ"),
          (0x70, "@!P0 BRA 0x20"), (0x80, "IADD3 R2, R2, 0x1, RZ"), (0x90, "@P2 BRA 0x10"),
          (0xa0, "IADD3 R3, R3, 0x1, RZ"), (0xb0, "@P3 BRA 0xa0"), (0xc0, "EXIT")]
  text = "\n".join(["\tcode for sm_90a", "\t\tFunction : _Z1kv", "\t.headerflags @\"EF_CUDA_SM90\""] +
                   [f"        /*{a:04x}*/                   {t} ;        /* 0x000000000000 */" for a, t in code])
  kernels = sass_loops.parse_sass(text)
  expect(list(kernels) == ["_Z1kv"] and len(kernels["_Z1kv"]) == len(code), f"one kernel, every instruction: {kernels}")
  loops = sass_loops.mma_loops(kernels["_Z1kv"])
  expect([(loop.start, len(loop.instructions), loop.mmas, loop.decoding) for loop in loops] == [(0x20, 6, 1, 2)],
         f"the inner MMA loop alone, its MMA and decoding counted: {[(l.start, len(l.instructions)) for l in loops]}")



@check
def sass_diff_kernels() -> None:
  # Two binaries' SASS as cuobjdump prints it: kernel a (in an anonymous namespace, whose hash follows the
  # file's path) the same on both sides at other addresses, b with one instruction changed, c only before
  # and d only after.
  def sass(kernels: dict[str, list[str]], first_address: int) -> str:
    lines = ["\tcode for sm_90a"]
    for name, body in kernels.items():
      lines += [f"\t\tFunction : {name}", "\t.headerflags @\"EF_CUDA_SM90\""]
      lines += [f"        /*{first_address + 16 * i:04x}*/   {t} ;   /* 0x{i:012x} */" for i, t in enumerate(body)]
    return "\n".join(lines)
  body = ["MOV R1, c[0x0][0x28]", "IADD3 R2, R2, 0x1, RZ", "EXIT"]
  base = sass_diff.kernels_of(sass({"_ZN1_GLOBAL__N__1a2b3c4d_1aEv": body, "_Z1bv": body, "_Z1cv": body}, 0))
  new = sass_diff.kernels_of(sass({"_ZN1_GLOBAL__N__9f8e7d6c_1aEv": body,
                                   "_Z1bv": [body[0], "IADD3 R2, R2, 0x2, RZ", body[2]], "_Z1dv": body}, 0x80))
  expect(sorted(base) == ["_Z1bv", "_Z1cv", "_ZN11aEv"] and base["_ZN11aEv"] == body,
         f"names without the namespace hash, instructions without addresses: {base}")
  expect(sass_diff.compare(base, new) == (["_ZN11aEv"], ["_Z1bv"], ["_Z1cv"], ["_Z1dv"]),
         f"identical, differing, gone, new: {sass_diff.compare(base, new)}")
  # The same instructions with more registers (cuobjdump -res-usage) are a different kernel: fewer CTAs fit an SM.
  def resources(registers: int) -> str:
    return (f"\nResource usage:\n Common:\n  GLOBAL:0\n Function _ZN1_GLOBAL__N__1a2b3c4d_1aEv:\n"
            f"  REG:{registers} STACK:0 SHARED:0 LOCAL:0 CONSTANT[0]:360 TEXTURE:0 SURFACE:0 SAMPLER:0\n")
  one = sass({"_ZN1_GLOBAL__N__1a2b3c4d_1aEv": body}, 0)
  same, more = (sass_diff.kernels_of(one, resources(n)) for n in (40, 48))
  expect(same["_ZN11aEv"][-1] == "resources: REG:40 STACK:0 SHARED:0 LOCAL:0 CONSTANT[0]:360 TEXTURE:0 SURFACE:0 "
         "SAMPLER:0", f"the resources line joins the kernel's instructions: {same}")
  expect(sass_diff.compare(same, more)[1] == ["_ZN11aEv"], "a register count alone makes a kernel differ")
  spilling = sass_diff.kernels_of(one, resources(40).replace("LOCAL:0", "LOCAL:16"))
  expect(sass_diff.with_local_memory(same) == [] and sass_diff.with_local_memory(spilling) == ["_ZN11aEv"],
         "local memory (spills) is found in the resources")

def check_torch_dequant(torch) -> None:
  from nvfp4_torch import dequantize_experts  # noqa: PLC0415

  shape, w = _small_case(torch)
  scales = _e4m3_to_float(w.w13_scale.numpy())
  expect(scales.min() >= 2.0**-3 and scales.max() <= 7.5, f"block scales {scales.min()}..{scales.max()}")
  expect(w.w13_scale_2.min() >= 1e-3 and w.w13_scale_2.max() <= 1e-2, "global scales in 1e-3..1e-2")
  w13, w2 = dequantize_experts(w)
  expect(w13.dtype == torch.bfloat16 and w13.shape == (8, 64, 64) and w2.shape == (8, 64, 32), "shapes")
  i = shape.intermediate
  gate_up_scale = np.concatenate([np.repeat(w.w13_scale_2[:, :1].numpy(), i, 1),
                                  np.repeat(w.w13_scale_2[:, 1:].numpy(), i, 1)], axis=1)
  ref13 = _numpy_dequant(w.w13.numpy(), w.w13_scale.numpy(), gate_up_scale)
  ref2 = _numpy_dequant(w.w2.numpy(), w.w2_scale.numpy(), np.repeat(w.w2_scale_2.numpy()[:, None], 64, 1))
  for name, got, ref in (("w13", w13, ref13), ("w2", w2, ref2)):
    err = np.abs(got.double().numpy() - ref).max() / np.abs(ref).max()
    expect(err < 2**-8, f"{name}: dequant off by {err:.2e} (BF16 rounding is 2^-9)")
  rms = float(w13.float().pow(2).mean().sqrt())
  expect(0.003 < rms < 0.1, f"dequantized weights are O(0.01), rms {rms:.4f}")


def check_marlin_preparation(torch) -> None:
  """vLLM's Marlin weight preparation as peer_marlin.py mirrors it, where it can be checked without its kernels:
  the m block rule, the padding, and the scale bytes (S0E5M3: the top byte of FP16 bits shifted left by one)
  decoding back to the checkpoint's scales once the permutations are undone."""
  import peer_marlin  # noqa: PLC0415

  expect(peer_marlin.block_rows(1, 8, 128) == 8 and peer_marlin.block_rows(64, 8, 128) == 8, "few rows: 8")
  expect(peer_marlin.block_rows(512, 8, 128) == 48, f"512 x 8 / 128 = 32 rows per expert: {peer_marlin.block_rows(512, 8, 128)}")
  expect(peer_marlin.block_rows(16384, 8, 128) == 64, "many rows: the largest block")
  expect(peer_marlin.padded_intermediate(2048, 768) == 768, "qwen3: no padding")
  expect(peer_marlin.padded_intermediate(2880, 2880) == 2944, "gpt-oss: hidden not a multiple of 128, N to 128s")
  shape, w = _small_case(torch)
  scales_e4m3 = w.w2_scale  # [E, H, I/16] = [8, 64, 2]
  scale_2 = w.w2_scale_2
  marlin, global_scales = peer_marlin._prepare_scales(scales_e4m3, scale_2)
  scales = scales_e4m3.view(torch.float8_e4m3fn).float()
  factor = peer_marlin._scale_factor(scales)
  expect(factor == 2.0 ** math.floor(math.log2(448.0 / float(scales.max()))), f"scale factor {factor}")
  expect(torch.allclose(global_scales, scale_2 * 2.0**119 / factor), "global scales biased and rescaled")
  byte = marlin.view(torch.uint8).long()
  decoded = torch.pow(2.0, (byte >> 3).double() - 15) * (1 + (byte & 7).double() / 8)  # E5M3, FP16's bias
  perm = peer_marlin.scale_permutation()
  inverse = [perm.index(i) for i in range(64)]
  for e in range(shape.experts):
    d = decoded[e]  # [I/16, H]
    d = d.reshape(-1, 4)[:, [0, 2, 1, 3]].reshape(d.shape)
    d = d.reshape(-1, 64)[:, inverse].reshape(d.shape)
    expect(torch.equal(d.T, scales[e].double() * factor * 2**7), f"expert {e}: scale bytes do not decode back")


def check_torch_peer(torch) -> None:
  from nvfp4_torch import dequantize_experts  # noqa: PLC0415
  from peer_torch import PeerWeights, peer_forward  # noqa: PLC0415

  routing = make_routing(UNIFORM, 13, 8, 2, seed=2)
  ids = routing.topk_ids.copy()
  ids[ids == 7] = 6  # leave expert 7 without tokens: the grouped GEMM must skip an empty group
  ids[:, 1] = np.where(ids[:, 1] == ids[:, 0], (ids[:, 0] + 1) % 7, ids[:, 1])
  x = torch.randn(13, 64, generator=torch.Generator().manual_seed(4)).to(torch.bfloat16)
  for biases in (False, True):
    shape, w = _small_case(torch, biases)
    w13, w2 = dequantize_experts(w)
    got = peer_forward(x, torch.from_numpy(routing.topk_weights), torch.from_numpy(ids),
                       PeerWeights(w13, w2, *w.bf16_biases()))
    xd, w13d, w2d = x.double().numpy(), w13.double().numpy(), w2.double().numpy()
    b13 = w.w13_bias.double().numpy() if biases else np.zeros((8, 64))
    b2 = w.w2_bias.double().numpy() if biases else np.zeros((8, 64))
    expect(biases == bool(np.any(b13)) and biases == bool(np.any(b2)), "biases where asked for, nowhere else")
    ref = np.zeros((13, 64))
    for t in range(13):
      for j in range(2):
        e = ids[t, j]
        gate_up = w13d[e] @ xd[t] + b13[e]
        gate, up = gate_up[:32], gate_up[32:]
        ref[t] += routing.topk_weights[t, j] * (w2d[e] @ (gate / (1 + np.exp(-gate)) * up) + b2[e])
    err = np.linalg.norm(got.double().numpy() - ref) / np.linalg.norm(ref)
    expect(err < 1e-2, f"peer vs float64 reference, biases {biases}: relative error {err:.2e}")
    print(f"    peer vs float64 reference{', with biases' if biases else ''}: relative error {err:.2e}")
  # The weights of a seed are the same with and without biases: those are drawn after them.
  _, plain = _small_case(torch)
  expect(torch.equal(plain.w13, w.w13) and torch.equal(plain.w2_scale_2, w.w2_scale_2), "biases drawn last")


def main() -> int:
  failures = 0
  checks = [(fn.__name__, fn) for fn in CHECKS]
  try:
    import torch  # noqa: PLC0415

    checks += [("torch_dequant (cpu)", lambda: check_torch_dequant(torch)),
               ("torch_peer (cpu)", lambda: check_torch_peer(torch)),
               ("marlin_preparation (cpu)", lambda: check_marlin_preparation(torch))]
  except ImportError:
    print("  (torch not importable: NVFP4 decoding and the peer are not checked)")
  for name, fn in checks:
    try:
      fn()
      print(f"  ok    {name}")
    except Exception:
      failures += 1
      print(f"  FAIL  {name}\n{traceback.format_exc()}")
  print(f"self-test: {len(checks) - failures} passed, {failures} failed")
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main())
