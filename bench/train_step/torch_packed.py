"""What the PyTorch anchors of the fine-tuning benchmarks (bench/sft, bench/dpo) share, written the way a
PyTorch 1.13 user would: a Hugging Face model directory loaded into torch_llama.Llama, LoRA as plain
modules on every linear layer of the blocks (y = base(x) + alpha/r * B(A(dropout(x))), the base frozen:
requires_grad False, no weight gradients), and the forward of packed rows (rotary angles by position,
attention causal and within a segment, a block-diagonal mask)."""
import math
import os
import sys

import torch
import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "reference"))
import safetensors_io as st  # noqa: E402
from torch_llama import Config, Llama  # noqa: E402


def load_model(path):
    """(cfg, model) of a Hugging Face model directory (f32 safetensors)."""
    cfg = Config.load(os.path.join(path, "config.json"))
    model = Llama(cfg)
    weights = st.read(os.path.join(path, "model.safetensors"))
    state = {k: torch.from_numpy(weights[k]).float() for k in model.hf_state_dict()}
    model.load_state_dict({(k if k.startswith("lm_head") else k[len("model."):]): v for k, v in state.items()})
    return cfg, model


class LoraLinear(nn.Module):
    def __init__(self, base, r, alpha, dropout):
        super().__init__()
        self.base = base
        self.A = nn.Linear(base.in_features, r, bias=False)
        self.B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.B.weight)
        self.drop = nn.Dropout(dropout)
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + self.B(self.A(self.drop(x))) * self.scale


def add_lora(model, r, alpha, dropout):
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in model.layers:
        for parent, names in ((layer.self_attn, ("q_proj", "k_proj", "v_proj", "o_proj")),
                              (layer.mlp, ("gate_proj", "up_proj", "down_proj"))):
            for n in names:
                setattr(parent, n, LoraLinear(getattr(parent, n), r, alpha, dropout))


def forward_packed(cfg, model, ids, positions, segments):
    """logits (B, T, V) of packed rows."""
    B, T = ids.shape
    inv = 1.0 / (cfg.theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float64) / cfg.head_dim))
    ang = positions.double()[..., None] * inv                       # (B, T, D/2)
    ang = torch.cat([ang, ang], dim=-1)[:, None]                    # (B, 1, T, D)
    cos, sin = ang.cos().float(), ang.sin().float()
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    same = segments[:, :, None] == segments[:, None, :]              # (B, T, T)
    mask = ~(causal & same)[:, None]                                # True = masked
    x = model.embed_tokens(ids)
    for layer in model.layers:
        x = layer(x, cos, sin, mask)
    x = model.norm(x)
    w = model.embed_tokens.weight if model.lm_head is None else model.lm_head.weight
    return x @ w.t()
