"""Independent PyTorch forward passes of LLaMA, BLOOM and BERT, for cross-checking lonas.

    /usr/bin/python3 tools/reference/forward.py <checkpoint-folder> <inputs.json>

reads config.json and model.safetensors (parsed here, without the safetensors package),
runs the model named by config.json's model_type on inputs.json
({"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]}) and prints
{"logits": ...}: [batch, time, vocab] for LLaMA and BLOOM, [batch, labels] for BERT.
Written from the architectures' definitions (Hugging Face modeling code conventions), not
from lonas's TypeScript.
"""
import json
import math
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return tensors


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def padding_and_causal_mask(mask, causal):
    """Additive mask [batch, 1, q, k] with torch.finfo.min where attention is not allowed."""
    batch, length = mask.shape
    allowed = mask[:, None, None, :].bool().expand(batch, 1, length, length)
    if causal:
        allowed = allowed & torch.tril(torch.ones(length, length, dtype=torch.bool))
    return torch.where(allowed, 0.0, torch.finfo(torch.float32).min)


def llama(cfg, t, ids, mask):
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads", heads)
    head_dim = hidden // heads
    eps, theta = cfg.get("rms_norm_eps", 1e-6), cfg.get("rope_theta", 10000.0)
    batch, length = ids.shape
    positions = torch.arange(length, dtype=torch.float32)
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(positions, inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos(), emb.sin()

    def rope(x):
        x1, x2 = x[..., : head_dim // 2], x[..., head_dim // 2 :]
        return x * cos + torch.cat([-x2, x1], dim=-1) * sin

    def rms(x, w):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w

    bias = padding_and_causal_mask(mask, causal=True)
    h = t["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        x = rms(h, t[f"{p}.input_layernorm.weight"])
        q = linear(x, t[f"{p}.self_attn.q_proj.weight"]).view(batch, length, heads, head_dim).transpose(1, 2)
        k = linear(x, t[f"{p}.self_attn.k_proj.weight"]).view(batch, length, kv_heads, head_dim).transpose(1, 2)
        v = linear(x, t[f"{p}.self_attn.v_proj.weight"]).view(batch, length, kv_heads, head_dim).transpose(1, 2)
        q, k = rope(q), rope(k)
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + bias
        context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, length, hidden)
        h = h + linear(context, t[f"{p}.self_attn.o_proj.weight"])
        x = rms(h, t[f"{p}.post_attention_layernorm.weight"])
        gate = torch.nn.functional.silu(linear(x, t[f"{p}.mlp.gate_proj.weight"]))
        h = h + linear(gate * linear(x, t[f"{p}.mlp.up_proj.weight"]), t[f"{p}.mlp.down_proj.weight"])
    h = rms(h, t["model.norm.weight"])
    head = t["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else t["lm_head.weight"]
    return linear(h, head)


def alibi_slopes(heads):
    closest = 2 ** math.floor(math.log2(heads))
    base = 2 ** (-(2 ** -(math.log2(closest) - 3)))
    slopes = [base ** (i + 1) for i in range(closest)]
    if closest != heads:
        extra = 2 ** (-(2 ** -(math.log2(2 * closest) - 3)))
        slopes += [extra ** (2 * i + 1) for i in range(min(closest, heads - closest))]
    return torch.tensor(slopes, dtype=torch.float32)


def bloom(cfg, t, ids, mask):
    hidden, heads = cfg["hidden_size"], cfg["n_head"]
    head_dim = hidden // heads
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    batch, length = ids.shape
    ln = lambda x, name: layer_norm(x, t[f"{name}.weight"], t[f"{name}.bias"], eps)
    lin = lambda x, name: linear(x, t[f"{name}.weight"], t[f"{name}.bias"])
    key_positions = ((mask.cumsum(-1) - 1) * mask).float()
    alibi = alibi_slopes(heads)[None, :, None, None] * key_positions[:, None, None, :]
    bias = padding_and_causal_mask(mask, causal=True)
    h = ln(t["transformer.word_embeddings.weight"][ids], "transformer.word_embeddings_layernorm")
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}"
        x = ln(h, f"{p}.input_layernorm")
        fused = lin(x, f"{p}.self_attention.query_key_value").view(batch, length, heads, 3, head_dim)
        q, k, v = (fused[..., j, :].transpose(1, 2) for j in range(3))
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + alibi
        scores = torch.where(bias < 0, torch.finfo(torch.float32).min, scores)
        context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, length, hidden)
        h = h + lin(context, f"{p}.self_attention.dense")
        x = ln(h, f"{p}.post_attention_layernorm")
        inner = lin(x, f"{p}.mlp.dense_h_to_4h")
        inner = inner * 0.5 * (1.0 + torch.tanh(0.79788456 * inner * (1 + 0.044715 * inner * inner)))
        h = h + lin(inner, f"{p}.mlp.dense_4h_to_h")
    h = ln(h, "transformer.ln_f")
    return linear(h, t["transformer.word_embeddings.weight"])


def bert(cfg, t, ids, mask, types):
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    head_dim = hidden // heads
    eps = cfg.get("layer_norm_eps", 1e-12)
    batch, length = ids.shape
    ln = lambda x, name: layer_norm(x, t[f"{name}.weight"], t[f"{name}.bias"], eps)
    lin = lambda x, name: linear(x, t[f"{name}.weight"], t[f"{name}.bias"])
    e = "bert.embeddings"
    h = t[f"{e}.word_embeddings.weight"][ids] + t[f"{e}.position_embeddings.weight"][torch.arange(length)]
    h = ln(h + t[f"{e}.token_type_embeddings.weight"][types], f"{e}.LayerNorm")
    bias = padding_and_causal_mask(mask, causal=False)
    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}"
        split = lambda x: x.view(batch, length, heads, head_dim).transpose(1, 2)
        q, k, v = (split(lin(h, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + bias
        context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, length, hidden)
        a = ln(lin(context, f"{p}.attention.output.dense") + h, f"{p}.attention.output.LayerNorm")
        inner = lin(a, f"{p}.intermediate.dense")
        inner = 0.5 * inner * (1.0 + torch.erf(inner / math.sqrt(2.0)))
        h = ln(lin(inner, f"{p}.output.dense") + a, f"{p}.output.LayerNorm")
    pooled = torch.tanh(lin(h[:, 0], "bert.pooler.dense"))
    return lin(pooled, "classifier")


def main():
    folder, inputs_path = sys.argv[1], sys.argv[2]
    cfg = json.load(open(f"{folder}/config.json"))
    t = read_safetensors(f"{folder}/model.safetensors")
    inputs = json.load(open(inputs_path))
    ids = torch.tensor(inputs["input_ids"])
    mask = torch.tensor(inputs["attention_mask"])
    with torch.no_grad():
        if cfg["model_type"] == "llama":
            logits = llama(cfg, t, ids, mask)
        elif cfg["model_type"] == "bloom":
            logits = bloom(cfg, t, ids, mask)
        else:
            logits = bert(cfg, t, ids, mask, torch.tensor(inputs["token_type_ids"]))
    json.dump({"logits": logits.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
