"""Hugging Face checkpoints in ModelOpt's NVFP4 layout from Python: which MoE layers a checkpoint
directory holds, and all of them (or a chosen few) built and loaded on one shared workspace.
MoeLayer.from_checkpoint builds and loads one."""

import os

from fp4moe import _core
from fp4moe._core import Error
from fp4moe.layer import MoeLayer
from fp4moe.workspace import Workspace


def checkpoint_moe_layers(path):
    """The MoE layers of a checkpoint directory (config.json and single or sharded safetensors), in layer
    order, as dicts: layer, num_experts, hidden, intermediate, nvfp4 (NVFP4 weights; False for an
    unquantized checkpoint, which `fp4moe quantize` converts), compressed_tensors (NVFP4 under
    compressed-tensors' names, weight_packed and inverted global scales), mxfp4 (gpt-oss's own MXFP4
    experts, which `fp4moe quantize` converts to NVFP4 exactly where their block exponents allow),
    has_input_scale (calibrated activation scales for mode "w4a4"), has_biases (expert biases, as gpt-oss's,
    loaded with the weights) and problem (why MoeLayer.from_checkpoint cannot load the layer; empty when it
    can). Every safetensors header is
    validated first; a malformed one raises fp4moe.Error naming the file."""
    return _core.Checkpoint(path=os.fspath(path)).moe_layers()


def load_moe_layers(path, max_tokens, *, layers=None, mode="w4a16", local_expert_start=0, local_experts=None,
                    tp_rank=0, tp_size=1, device=None, cpu_threads=0, workspace=None):
    """The MoE layers of a checkpoint directory, each built and loaded as MoeLayer.from_checkpoint does,
    from the checkpoint opened (and its headers validated) once, all on one fp4moe.Workspace: {layer: MoeLayer}
    in layer order. layers: the layer indices to load (None: every MoE layer); every one of them must be
    loadable (checkpoint_moe_layers' problem empty), which is checked before the first is built, and a
    layer whose experts fail validation raises fp4moe.Error with nothing returned. workspace: the
    fp4moe.Workspace to share (None: a new one on `device`); the other arguments are those of
    MoeLayer.from_checkpoint, the same for every layer."""
    checkpoint = _core.Checkpoint(path=os.fspath(path))
    found = {d["layer"]: d for d in checkpoint.moe_layers()}
    wanted = sorted(found) if layers is None else [int(layer) for layer in layers]
    for layer in wanted:
        if layer not in found:
            raise Error(f"fp4moe: load_moe_layers: layers: expected MoE layers of the checkpoint "
                        f"{sorted(found)}, got {layer}")
        if found[layer]["problem"]:
            raise Error(f"fp4moe: load_moe_layers: layer {layer}: {found[layer]['problem']}")
    if workspace is None:
        workspace = Workspace(device=device)
    return {layer: MoeLayer._from_open_checkpoint(
        checkpoint, layer, max_tokens, mode=mode, local_expert_start=local_expert_start,
        local_experts=local_experts, tp_rank=tp_rank, tp_size=tp_size, device=device, cpu_threads=cpu_threads,
        workspace=workspace)
        for layer in wanted}
