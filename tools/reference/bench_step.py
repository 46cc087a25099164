"""PyTorch reference timings for `npm run bench training`: the same LoRA training step and
generation lonas measures, on the same checkpoint, so the bench can report lonas's time as a
ratio to PyTorch's.

    /usr/bin/python3 tools/reference/bench_step.py <checkpoint-folder> <settings.json>

settings.json: {"batch": 8, "length": 128, "rank": 8, "alpha": 16, "targets": [...],
"steps": 20, "warmup": 3, "threads": 1, "new_tokens": 64, "prompt": 16}. Prints one JSON object:
{"train_step_ms": median, "forward_ms": median, "generate_ms_per_token": median (LLaMA; greedy
decoding with a key/value cache, batch 1) or null}.
The model is forward.py's (LLaMA and BLOOM: causal LM loss; BERT: classification loss); LoRA adds
scale * (x A^T) B^T to each target linear; AdamW (torch's) updates A and B after clipping the
gradient norm to 1, as lonas's trainer does.
"""
import json
import statistics
import sys
import time

import torch

import decode
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
    causal = cfg["model_type"] in ("llama", "bloom")

    def loss():
        if causal:
            logits = (forward.llama if llama else forward.bloom)(cfg, t, ids, mask)
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
            prompt = ids[:1, : s["prompt"]].tolist()
            result["generate_ms_per_token"] = (
                median_ms(lambda: decode.greedy(cfg, t, prompt, s["new_tokens"]), 3, 1) / s["new_tokens"]
            )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
