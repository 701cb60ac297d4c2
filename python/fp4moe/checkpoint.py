"""Hugging Face checkpoints in ModelOpt's NVFP4 layout from Python: which MoE layers a checkpoint
directory holds. MoeLayer.from_checkpoint builds and loads one of them."""

import os

from fp4moe import _core


def checkpoint_moe_layers(path):
    """The MoE layers of a checkpoint directory (config.json and single or sharded safetensors), in layer
    order, as dicts: layer, num_experts, hidden, intermediate, nvfp4 (ModelOpt NVFP4 weights; False for an
    unquantized checkpoint, which `fp4moe quantize` converts), has_input_scale (calibrated activation
    scales for mode "w4a4") and problem (why MoeLayer.from_checkpoint cannot load the layer; empty when it
    can). Every safetensors header is validated first; a malformed one raises fp4moe.Error naming the file."""
    return _core.Checkpoint(path=os.fspath(path)).moe_layers()
