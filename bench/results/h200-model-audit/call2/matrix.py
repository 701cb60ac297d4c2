#!/usr/bin/env python3
"""Call 2's matrix: each model and batch, the table's time and each forced tile's (us, W4A16, uniform, one round)."""
import collections, glob, gzip, json, os

SHAPES = ['qwen3-235b', 'gpt-oss-20b', 'mixtral-8x7b', 'glm-4.5-air', 'kimi-k2', 'deepseek-v2-lite', 'llama4-scout']
SHORT = {'table': 'table', 'mma8-r64-w4-s8-d4-k2': 'k2', 'mma8-r64-w4-s8-d4-k4': 'k4', 'mma8-r64-w4-s8-d4': 'r64',
         'mma8-r128-w4-s8-d4': 'r128', 'mma16-r128-w4-s4-d4': 'm16', 'mma32-r128-w4-s4-d2': 'm32',
         'wgmma32-r256-w8-s8-c2': 'w32', 'wgmma48-r256-w8-s7-c2': 'w48', 'wgmma64-r256-w8-s8': 'w64',
         'wgmma128-r256-w8-s8': 'w128'}
us = collections.defaultdict(dict)
for f in glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), '*-r1.json.gz')):
    tag_side = os.path.basename(f)[:-len('-r1.json.gz')]
    shape = next(s for s in SHAPES if tag_side.startswith(s + '-'))
    for row in json.load(gzip.open(f))['rows']:
        us[(shape, row['tokens'])][tag_side[len(shape) + 1:]] = (row['us'], row['floor_us'])
print(f"{'shape':17s} {'T':>4s} " + ' '.join(f'{v:>7s}' for v in SHORT.values()) + '   floor  best/table')
for shape in SHAPES:
    for t in sorted(t for s, t in us if s == shape):
        r = us[(shape, t)]
        best = min(v[0] for v in r.values())
        print(f'{shape:17s} {t:4d} ' + ' '.join(f'{r[k][0]:7.1f}' for k in SHORT) +
              f"  {r['table'][1]:6.1f}  {best / r['table'][0]:.3f}")
