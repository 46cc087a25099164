"""Cached decoding of forward.py's LLaMA, for the benchmarks' PyTorch side: a step runs only the
new tokens of every row against the keys and values of earlier steps, with left padding masked
and positions counting real tokens only (what lonas's generation does).
"""
import torch

import forward


class CachedLlama:
    def __init__(self, cfg, t):
        self.cfg, self.t = cfg, t
        self.hidden, self.heads = cfg["hidden_size"], cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads", self.heads)
        self.head_dim = self.hidden // self.heads
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        theta = cfg.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        self.cache = [None] * cfg["num_hidden_layers"]

    def rms(self, x, w):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + self.eps) * w

    def lin(self, x, name):
        return forward.linear(x, self.t[f"{name}.weight"])

    def step(self, tokens, positions, key_mask):
        """tokens, positions [rows, time]; key_mask [rows, past + time] (1 real). Last position's log-probs."""
        rows, length = tokens.shape
        hd = self.head_dim
        freqs = positions[..., None].float() * self.inv_freq
        emb = torch.cat([freqs, freqs], dim=-1)[:, None]
        cos, sin = emb.cos(), emb.sin()

        def rope(x):
            x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
            return x * cos + torch.cat([-x2, x1], dim=-1) * sin

        past = key_mask.shape[1] - length
        causal = torch.tril(torch.ones(length, past + length, dtype=torch.bool), diagonal=past)
        allowed = causal[None, None] & key_mask[:, None, None, :].bool()
        bias = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)
        h = self.t["model.embed_tokens.weight"][tokens]
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{i}"
            x = self.rms(h, self.t[f"{p}.input_layernorm.weight"])
            split = lambda y, n: y.view(rows, length, n, hd).transpose(1, 2)
            q = rope(split(self.lin(x, f"{p}.self_attn.q_proj"), self.heads))
            k = rope(split(self.lin(x, f"{p}.self_attn.k_proj"), self.kv_heads))
            v = split(self.lin(x, f"{p}.self_attn.v_proj"), self.kv_heads)
            if self.cache[i] is not None:
                k, v = torch.cat([self.cache[i][0], k], dim=2), torch.cat([self.cache[i][1], v], dim=2)
            self.cache[i] = (k, v)
            k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
            scores = q @ k.transpose(-1, -2) / hd**0.5 + bias
            context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(rows, length, self.hidden)
            h = h + self.lin(context, f"{p}.self_attn.o_proj")
            x = self.rms(h, self.t[f"{p}.post_attention_layernorm.weight"])
            gate = torch.nn.functional.silu(self.lin(x, f"{p}.mlp.gate_proj"))
            h = h + self.lin(gate * self.lin(x, f"{p}.mlp.up_proj"), f"{p}.mlp.down_proj")
        logits = self.lin(self.rms(h[:, -1], self.t["model.norm.weight"]), "lm_head")
        return torch.log_softmax(logits, dim=-1)

    def reorder(self, rows):
        self.cache = [(k.index_select(0, rows), v.index_select(0, rows)) for k, v in self.cache]


def left_padded(prompts):
    width = max(len(p) for p in prompts)
    tokens = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return tokens, mask, positions


def greedy(cfg, t, prompts, new_tokens):
    """Greedy ids of a batch of prompts (no end token)."""
    model = CachedLlama(cfg, t)
    tokens, mask, positions = left_padded(prompts)
    out = []
    for _ in range(new_tokens):
        token = model.step(tokens, positions, mask).argmax(-1)
        out.append(token)
        tokens, positions = token[:, None], positions[:, -1:] + 1
        mask = torch.cat([mask, torch.ones(len(prompts), 1, dtype=mask.dtype)], dim=1)
    return torch.stack(out, dim=1).tolist()


def beam_search(cfg, t, prompts, new_tokens, beams):
    """Beam search without an end token: each step keeps the best `beams` continuations per prompt."""
    model = CachedLlama(cfg, t)
    tokens, mask, positions = left_padded([p for p in prompts for _ in range(beams)])
    scores = torch.tensor([0.0 if j == 0 else -1e9 for _ in prompts for j in range(beams)])
    sequences = torch.zeros(len(prompts) * beams, 0, dtype=torch.long)
    for _ in range(new_tokens):
        log_probs = model.step(tokens, positions, mask)
        vocab = log_probs.shape[-1]
        candidates = (scores[:, None] + log_probs).view(len(prompts), beams * vocab)
        best, index = candidates.topk(beams, dim=-1)
        rows = (index // vocab + torch.arange(len(prompts))[:, None] * beams).view(-1)
        token = (index % vocab).view(-1)
        model.reorder(rows)
        scores = best.view(-1)
        sequences = torch.cat([sequences[rows], token[:, None]], dim=1)
        tokens, positions = token[:, None], positions[rows, -1:] + 1
        mask = torch.cat([mask[rows], torch.ones(len(rows), 1, dtype=mask.dtype)], dim=1)
    return sequences.view(len(prompts), beams, -1)[:, 0].tolist()
