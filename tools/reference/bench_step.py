"""PyTorch reference timings for `npm run bench training`: the same LoRA training step and
generation lonas measures, on the same checkpoint, so the bench can report lonas's time as a
ratio to PyTorch's.

    /usr/bin/python3 tools/reference/bench_step.py <checkpoint-folder> <settings.json>

settings.json: {"batch": 8, "length": 128, "rank": 8, "alpha": 16, "targets": [...],
"steps": 20, "warmup": 3, "threads": 1, "new_tokens": 64, "prompt": 16}. Prints one JSON object:
{"train_step_ms": median, "forward_ms": median, "generate_ms_per_token": median (LLaMA; greedy
decoding with a key/value cache, batch 1) or null}.
The model is forward.py's (LLaMA: causal LM loss; BERT: classification loss); LoRA adds
scale * (x A^T) B^T to each target linear; AdamW (torch's) updates A and B after clipping the
gradient norm to 1, as lonas's trainer does.
"""
import json
import statistics
import sys
import time

import torch

import forward


def lora_linear(adapters):
    """forward.linear with a LoRA branch for the weights in `adapters` (by tensor identity)."""
    plain = forward.linear

    def linear(x, w, b=None):
        y = plain(x, w, b)
        adapter = adapters.get(id(w))
        if adapter is None:
            return y
        a, b_, scale = adapter
        return y + (x @ a.T) @ b_.T * scale

    return linear


def median_ms(run, steps, warmup):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def greedy_with_cache(cfg, t, prompt, new_tokens):
    """Greedy decoding of forward.py's LLaMA with a key/value cache: the prompt at once, then a token a step."""
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads", heads)
    head_dim = hidden // heads
    eps, theta = cfg.get("rms_norm_eps", 1e-6), cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    rms = lambda x, w: x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w
    lin = lambda x, name: forward.linear(x, t[f"{name}.weight"])
    cache = [None] * cfg["num_hidden_layers"]

    def step(tokens, start):
        length = tokens.shape[1]
        freqs = torch.outer(torch.arange(start, start + length, dtype=torch.float32), inv_freq)
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos(), emb.sin()

        def rope(x):
            x1, x2 = x[..., : head_dim // 2], x[..., head_dim // 2 :]
            return x * cos + torch.cat([-x2, x1], dim=-1) * sin

        causal = torch.tril(torch.ones(length, start + length, dtype=torch.bool), diagonal=start)
        bias = torch.where(causal, 0.0, torch.finfo(torch.float32).min)
        h = t["model.embed_tokens.weight"][tokens]
        for i in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{i}"
            x = rms(h, t[f"{p}.input_layernorm.weight"])
            split = lambda y, n: y.view(1, length, n, head_dim).transpose(1, 2)
            q = rope(split(lin(x, f"{p}.self_attn.q_proj"), heads))
            k = rope(split(lin(x, f"{p}.self_attn.k_proj"), kv_heads))
            v = split(lin(x, f"{p}.self_attn.v_proj"), kv_heads)
            if cache[i] is not None:
                k, v = torch.cat([cache[i][0], k], dim=2), torch.cat([cache[i][1], v], dim=2)
            cache[i] = (k, v)
            k = k.repeat_interleave(heads // kv_heads, dim=1)
            v = v.repeat_interleave(heads // kv_heads, dim=1)
            scores = q @ k.transpose(-1, -2) / head_dim**0.5 + bias
            context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(1, length, hidden)
            h = h + lin(context, f"{p}.self_attn.o_proj")
            x = rms(h, t[f"{p}.post_attention_layernorm.weight"])
            gate = torch.nn.functional.silu(lin(x, f"{p}.mlp.gate_proj"))
            h = h + lin(gate * lin(x, f"{p}.mlp.up_proj"), f"{p}.mlp.down_proj")
        return lin(rms(h[:, -1:], t["model.norm.weight"]), "lm_head")

    token = step(prompt, 0).argmax(-1)
    for position in range(prompt.shape[1], prompt.shape[1] + new_tokens - 1):
        token = step(token, position).argmax(-1)


def main():
    folder, settings_path = sys.argv[1], sys.argv[2]
    s = json.load(open(settings_path))
    torch.set_num_threads(s["threads"])
    torch.manual_seed(0)
    cfg = json.load(open(f"{folder}/config.json"))
    t = forward.read_safetensors(f"{folder}/model.safetensors")
    adapters, params = {}, []
    for name, w in t.items():
        module = name[: -len(".weight")]
        if name.endswith(".weight") and any(module.endswith(target) for target in s["targets"]):
            a = (torch.randn(s["rank"], w.shape[1]) * 0.01).requires_grad_()
            b = torch.zeros(w.shape[0], s["rank"]).requires_grad_()
            adapters[id(w)] = (a, b, s["alpha"] / s["rank"])
            params += [a, b]
    forward.linear = lora_linear(adapters)
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    batch, length = s["batch"], s["length"]
    ids = torch.randint(3, cfg["vocab_size"], (batch, length))
    mask = torch.ones(batch, length, dtype=torch.long)
    llama = cfg["model_type"] == "llama"

    def loss():
        if llama:
            logits = forward.llama(cfg, t, ids, mask)
            return torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1)
            )
        logits = forward.bert(cfg, t, ids, mask, torch.zeros_like(ids))
        return torch.nn.functional.cross_entropy(logits, torch.zeros(batch, dtype=torch.long))

    def step():
        optimizer.zero_grad()
        loss().backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    result = {"train_step_ms": median_ms(step, s["steps"], s["warmup"])}
    with torch.no_grad():
        result["forward_ms"] = median_ms(loss, s["steps"], s["warmup"])
        result["generate_ms_per_token"] = None
        if llama:
            prompt = ids[:1, : s["prompt"]]
            result["generate_ms_per_token"] = (
                median_ms(lambda: greedy_with_cache(cfg, t, prompt, s["new_tokens"]), 3, 1) / s["new_tokens"]
            )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
