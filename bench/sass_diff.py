"""Which kernels of two CUDA binaries are the same machine code: a change to kernel source (a rename, a
helper moved, a flag folded) checked without a GPU. Kernels whose SASS is instruction for instruction the
same behave the same, so such a change needs no device run; any other needs one. Reads `cuobjdump -sass`
(sass_loops.py says where to get it) of two cubins, objects or executables.

  python3 bench/sass_diff.py /tmp/base/grouped_gemm.cubin /tmp/new/grouped_gemm.cubin

tools/sass-identity.sh compiles every GPU source of a commit and of this tree and runs this on each pair.

A kernel's name is compared without its anonymous namespace's hash (`_GLOBAL__N__<hash>_`, which nvcc
derives from the file's path, so two checkouts differ there), its instructions without their addresses
and encodings (branch targets are addresses, so an instruction added anywhere shows as a difference in
every branch after it too), and its resources as `cuobjdump -res-usage` gives them (registers, stack,
static shared memory...: what decides how many CTAs an SM holds, which the SASS alone does not show).
New kernels are listed with their resources, and any kernel of the new binary with a stack frame or
local memory (ptxas's spills go there) is named: the project's kernels have neither. Prints the kernels of both that are identical, those that differ (with the
first lines of a diff under --show), and those only one binary has. Exit status 1 when a kernel that both
have differs, else 0: kernels only one side has are a change of the kernel set, reported but not failed.
"""
from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys

from sass_loops import find_cuobjdump, parse_sass

ANONYMOUS_NAMESPACE = re.compile(r"_GLOBAL__N__[0-9a-f]+_")
SPILL_SPACE = re.compile(r"\b(?:STACK|LOCAL):[1-9]")
RESOURCE_FUNCTION = re.compile(r"^\s*Function (\S+):\s*$")


def kernels_of(sass: str, resources: str = "") -> dict[str, list[str]]:
  """cuobjdump -sass output (and -res-usage output) -> {kernel name without its anonymous-namespace hash:
  instruction texts, then a line `resources: REG:...` where the kernel has one}."""
  kernels = {ANONYMOUS_NAMESPACE.sub("", name): [text for _, text in body] for name, body in parse_sass(sass).items()}
  lines = resources.splitlines()
  for line, following in zip(lines, lines[1:]):
    if (match := RESOURCE_FUNCTION.match(line)) and (name := ANONYMOUS_NAMESPACE.sub("", match.group(1))) in kernels:
      kernels[name].append("resources: " + following.strip())
  return kernels


def resources_line(body: list[str]) -> str:
  """The `resources: ...` line kernels_of appends, or an empty string."""
  return body[-1] if body and body[-1].startswith("resources: ") else ""


def with_local_memory(kernels: dict[str, list[str]]) -> list[str]:
  """The kernels whose resources show a stack frame or local memory, sorted."""
  return sorted(name for name, body in kernels.items() if SPILL_SPACE.search(resources_line(body)))


def compare(base: dict[str, list[str]], new: dict[str, list[str]]) -> tuple[list[str], list[str], list[str],
                                                                            list[str]]:
  """(identical, differing, only in base, only in new) kernel names, each sorted."""
  both = sorted(base.keys() & new.keys())
  return ([k for k in both if base[k] == new[k]], [k for k in both if base[k] != new[k]],
          sorted(base.keys() - new.keys()), sorted(new.keys() - base.keys()))


def main(argv: list[str] | None = None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("base", help="cubin, object or executable before the change")
  p.add_argument("new", help="the same after it")
  p.add_argument("--show", type=int, default=0, metavar="N", help="print N lines of diff per differing kernel")
  p.add_argument("--cuobjdump", help="path of cuobjdump")
  args = p.parse_args(argv)
  tool = find_cuobjdump(args.cuobjdump)

  def dump(option: str, path: str) -> str:
    return subprocess.run([tool, option, path], capture_output=True, text=True, check=True).stdout

  base, new = (kernels_of(dump("-sass", path), dump("-res-usage", path)) for path in (args.base, args.new))
  identical, differing, gone, added = compare(base, new)
  print(f"{args.new}: {len(identical)} of {len(base)} kernels identical, {len(differing)} differ, "
        f"{len(gone)} gone, {len(added)} new")
  for label, names in (("differs", differing), ("gone", gone), ("new", added), ("local", with_local_memory(new))):
    for name in names:
      print(f"  {label:8} {name}")
      if label in ("new", "local"):
        print(f"           {resources_line(new[name])}")
      if label == "differs" and args.show:
        diff = difflib.unified_diff(base[name], new[name], lineterm="", n=1)
        for line in list(diff)[2:2 + args.show]:
          print(f"      {line}")
  return 1 if differing else 0


if __name__ == "__main__":
  sys.exit(main())
