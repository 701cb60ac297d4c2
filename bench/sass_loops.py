"""The loops of a CUDA binary's kernels in SASS and their length in instructions: what a change to a K loop
does to the instructions a stage issues, seen without a GPU. Reads `cuobjdump -sass` of a cubin, an object
or an executable. cuobjdump comes from PATH, /usr/local/cuda/bin, or --cuobjdump; where the toolkit lacks it,
PyPI has it (`pip download --no-deps nvidia-cuda-cuobjdump`, unzip, nvidia/cu13/bin/cuobjdump; 13.5 reads
nvcc 13.0's sm_90a code).

  nvcc -std=c++17 -O3 -arch=sm_90a --expt-relaxed-constexpr -Isrc -Iinclude -cubin \\
      -o /tmp/gg.cubin src/cuda/gemm/grouped_gemm.cu
  python3 bench/sass_loops.py /tmp/gg.cubin --kernel 'ELi32ELi8.*GateUp' --list

For every kernel whose mangled name matches --kernel (a regex): each loop (a backward branch) that holds an
MMA (HGMMA or HMMA), with its instruction count, its MMAs, and how many of its instructions are the
NVFP4 decoding's (format/dequant.cuh: the masks, shifts, rotates, PRMTs and LEAs of its constants, and the
HMUL2s); --list also prints the loop's other instructions, the bookkeeping a change might remove.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The decoding's instructions as ptxas emits them for format/dequant.cuh (its mask, shift and scale
# constants), and the MMAs.
_R = r"R\d+(?:\.reuse)?"  # a register operand
DECODING = re.compile(rf"HMUL2|LOP3\.LUT {_R}, {_R}, 0x8[0-9a-f]+|0x1000100|IMAD\.SHL|SHF\.L\.W|"
                      rf"SHF\.R\.U32\.HI {_R}, RZ, 0x6|SHF\.L\.U32 {_R}, {_R}, 0x[26], RZ|"
                      rf"PRMT {_R}, {_R}, 0x4[13]4[02]|LEA {_R}, {_R}, 0x7480")
MMA = re.compile(r"\b(HGMMA|HMMA)\b")
FUNCTION = re.compile(r"Function : (\S+)")
INSTRUCTION = re.compile(r"^\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")
BRANCH = re.compile(r"\bBRA (?:`\()?(0x[0-9a-f]+)")

Instruction = tuple[int, str]  # (address, text)


@dataclass
class Loop:
  start: int  # address of the loop's first instruction (the branch target)
  instructions: list[Instruction]

  @property
  def mmas(self) -> int:
    return sum(bool(MMA.search(text)) for _, text in self.instructions)

  @property
  def decoding(self) -> int:
    return sum(bool(DECODING.search(text)) for _, text in self.instructions)


def parse_sass(text: str) -> dict[str, list[Instruction]]:
  """cuobjdump -sass output -> {mangled kernel name: its instructions in address order}."""
  kernels: dict[str, list[Instruction]] = {}
  current: list[Instruction] | None = None
  for line in text.splitlines():
    if match := FUNCTION.search(line):
      current = kernels.setdefault(match.group(1), [])
    elif current is not None and (match := INSTRUCTION.match(line)):
      current.append((int(match.group(1), 16), match.group(2)))
  return kernels


def mma_loops(body: list[Instruction]) -> list[Loop]:
  """The innermost loops of one kernel that hold an MMA: from a backward branch's target to the
  branch, where no other such loop lies inside (the outer loops over tiles are left out)."""
  index = {address: i for i, (address, _) in enumerate(body)}
  spans = []
  for i, (address, text) in enumerate(body):
    match = BRANCH.search(text)
    if match and (target := int(match.group(1), 16)) < address and target in index:
      loop = Loop(target, body[index[target]:i + 1])
      if loop.mmas:
        spans.append((index[target], i, loop))
  return [loop for first, last, loop in spans
          if not any((f, l) != (first, last) and first <= f and l <= last for f, l, _ in spans)]


def find_cuobjdump(given: str | None) -> str:
  for candidate in (given, shutil.which("cuobjdump"), "/usr/local/cuda/bin/cuobjdump"):
    if candidate and Path(candidate).is_file():
      return candidate
  sys.exit("sass_loops: no cuobjdump (give --cuobjdump; the module docstring says where PyPI has it)")


def main(argv: list[str] | None = None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("binary", help="cubin, object or executable")
  p.add_argument("--kernel", default="", help="regex on the mangled kernel names (default: every kernel)")
  p.add_argument("--list", action="store_true", help="print each loop's instructions other than the decoding's")
  p.add_argument("--cuobjdump", help="path of cuobjdump")
  args = p.parse_args(argv)
  sass = subprocess.run([find_cuobjdump(args.cuobjdump), "-sass", args.binary], capture_output=True, text=True,
                        check=True).stdout
  pattern = re.compile(args.kernel)
  for name, body in parse_sass(sass).items():
    if not pattern.search(name):
      continue
    loops = mma_loops(body)
    if not loops:
      continue
    print(name)
    for loop in loops:
      print(f"  loop at {loop.start:#x}: {len(loop.instructions)} instructions, {loop.mmas} MMAs, "
            f"{loop.decoding} decoding, {len(loop.instructions) - loop.decoding - loop.mmas} other")
      if args.list:
        for address, text in loop.instructions:
          if not DECODING.search(text) and not MMA.search(text):
            print(f"    {address:#06x}  {text}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
