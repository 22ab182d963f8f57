"""The Llama / Qwen2 / Mistral decoder written in plain PyTorch, following Hugging Face transformers'
modeling code (RMSNorm in float, rotate_half RoPE, GQA by repeating k/v heads, SwiGLU, Qwen2 q/k/v bias,
Llama attention_bias on q/k/v/o, tied embeddings), built from a config.json dict and a state dict
under Hugging Face tensor names. Used as the ground truth for baimo's numerics, in float64.
Packed rows: optional position ids (B, T) for RoPE and segment ids (B, T), which turn the causal
mask block-diagonal (a token attends earlier tokens of its own segment only)."""
import math

import torch
import torch.nn.functional as F


class Reference:
    def __init__(self, cfg, weights, dtype=torch.float64):
        self.cfg = cfg
        self.hidden = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads") or self.heads
        self.head_dim = cfg.get("head_dim") or self.hidden // self.heads
        self.layers = cfg["num_hidden_layers"]
        self.eps = cfg["rms_norm_eps"]
        self.theta = cfg.get("rope_theta", 10000.0)
        mt = cfg["model_type"]
        self.qkv_bias = mt == "qwen2" or (mt == "llama" and cfg.get("attention_bias", False))
        self.o_bias = mt == "llama" and cfg.get("attention_bias", False)
        self.tied = cfg.get("tie_word_embeddings", False)
        self.params = {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in weights.items()}
        expected = set(self.param_names())
        if set(self.params) != expected:
            raise AssertionError(f"tensor names differ: extra {set(self.params) - expected}, "
                                 f"missing {expected - set(self.params)}")

    def param_names(self):
        names = ["model.embed_tokens.weight", "model.norm.weight"]
        if not self.tied:
            names.append("lm_head.weight")
        for i in range(self.layers):
            p = f"model.layers.{i}."
            names += [p + "input_layernorm.weight", p + "post_attention_layernorm.weight"]
            for m in ("q", "k", "v", "o"):
                names.append(p + f"self_attn.{m}_proj.weight")
                if (m != "o" and self.qkv_bias) or (m == "o" and self.o_bias):
                    names.append(p + f"self_attn.{m}_proj.bias")
            names += [p + f"mlp.{m}_proj.weight" for m in ("gate", "up", "down")]
        return names

    def _rms(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def _lin(self, x, name):
        b = self.params.get(name + ".bias")
        return F.linear(x, self.params[name + ".weight"], b)

    def logits(self, ids, positions=None, segments=None):
        """ids (B, T); positions (B, T) default 0..T-1 per row; segments (B, T) default one per row."""
        P = self.params
        B, T = ids.shape
        inv = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float64) / self.head_dim))
        pos = torch.arange(T, dtype=torch.float64).expand(B, T) if positions is None else positions.to(torch.float64)
        ang = pos[..., None] * inv  # (B, T, D/2)
        ang = torch.cat([ang, ang], -1)[:, None]  # (B, 1, T, D): broadcast over heads
        cos, sin = ang.cos().to(P["model.norm.weight"].dtype), ang.sin().to(P["model.norm.weight"].dtype)

        def rope(x):
            h = x.shape[-1] // 2
            return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin

        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)  # True = masked out
        if segments is not None:  # (B, 1, T, T): also mask keys of other segments
            mask = mask | (segments[:, :, None] != segments[:, None, :])
            mask = mask[:, None]
        x = F.embedding(ids, P["model.embed_tokens.weight"])
        for i in range(self.layers):
            p = f"model.layers.{i}."
            h = self._rms(x, P[p + "input_layernorm.weight"])
            q = self._lin(h, p + "self_attn.q_proj").view(B, T, self.heads, self.head_dim).transpose(1, 2)
            k = self._lin(h, p + "self_attn.k_proj").view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
            v = self._lin(h, p + "self_attn.v_proj").view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = rope(q), rope(k)
            rep = self.heads // self.kv_heads
            k = k.repeat_interleave(rep, 1)
            v = v.repeat_interleave(rep, 1)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, self.heads * self.head_dim)
            x = x + self._lin(y, p + "self_attn.o_proj")
            h = self._rms(x, P[p + "post_attention_layernorm.weight"])
            g = self._lin(h, p + "mlp.gate_proj")
            u = self._lin(h, p + "mlp.up_proj")
            x = x + self._lin(F.silu(g) * u, p + "mlp.down_proj")
        x = self._rms(x, P["model.norm.weight"])
        w = P["model.embed_tokens.weight"] if self.tied else P["lm_head.weight"]
        return x @ w.t()

    def loss(self, ids, targets, positions=None, segments=None):
        lg = self.logits(ids, positions, segments)
        return lg, F.cross_entropy(lg.reshape(-1, lg.shape[-1]), targets.reshape(-1), ignore_index=-100)
