"""PyTorch's side of `npm run bench scale` for one LLaMA shape of random weights: the LoRA training
step of bench_step.py and cached greedy decoding, with this process's peak RSS.

    /usr/bin/python3 tools/reference/bench_scale.py '<settings json>'

settings: {"hidden", "inner", "layers", "heads", "kvHeads", "vocab", "batch", "length", "rank",
"steps", "warmup", "prompt", "newTokens", "threads"}. Prints {"train_step_ms", "generate_tokens_per_s",
"max_rss_bytes", "torch"}.
"""
import json
import resource
import sys
import time

import torch

import bench_step
import decode
import forward


def random_llama(s):
    hidden, inner, kv = s["hidden"], s["inner"], s["hidden"] // s["heads"] * s["kvHeads"]
    shapes = {"model.embed_tokens.weight": (s["vocab"], hidden)}
    for i in range(s["layers"]):
        p = f"model.layers.{i}"
        shapes.update(
            {
                f"{p}.input_layernorm.weight": (hidden,),
                f"{p}.self_attn.q_proj.weight": (hidden, hidden),
                f"{p}.self_attn.k_proj.weight": (kv, hidden),
                f"{p}.self_attn.v_proj.weight": (kv, hidden),
                f"{p}.self_attn.o_proj.weight": (hidden, hidden),
                f"{p}.post_attention_layernorm.weight": (hidden,),
                f"{p}.mlp.gate_proj.weight": (inner, hidden),
                f"{p}.mlp.up_proj.weight": (inner, hidden),
                f"{p}.mlp.down_proj.weight": (hidden, inner),
            }
        )
    shapes.update({"model.norm.weight": (hidden,), "lm_head.weight": (s["vocab"], hidden)})
    t = {name: torch.ones(shape) if name.endswith("norm.weight") else torch.randn(shape) * 0.02 for name, shape in shapes.items()}
    cfg = {
        "hidden_size": hidden,
        "intermediate_size": inner,
        "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"],
        "num_key_value_heads": s["kvHeads"],
        "vocab_size": s["vocab"],
        "rms_norm_eps": 1e-5,
    }
    return cfg, t


def main():
    s = json.loads(sys.argv[1])
    torch.set_num_threads(s["threads"])
    torch.manual_seed(0)
    cfg, t = random_llama(s)
    targets = ["q_proj", "k_proj", "v_proj", "up_proj", "gate_proj", "down_proj"]
    adapters, params = {}, []
    for name, w in t.items():
        if name.endswith(".weight") and any(name[: -len(".weight")].endswith(target) for target in targets):
            a = (torch.randn(s["rank"], w.shape[1]) * 0.01).requires_grad_()
            b = torch.zeros(w.shape[0], s["rank"]).requires_grad_()
            adapters[id(w)] = (a, b, 2.0)
            params += [a, b]
    forward.linear = bench_step.lora_linear(adapters)
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    ids = torch.randint(3, s["vocab"], (s["batch"], s["length"]))
    mask = torch.ones_like(ids)

    def step():
        optimizer.zero_grad()
        logits = forward.llama(cfg, t, ids, mask)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    train_ms = bench_step.median_ms(step, s["steps"], s["warmup"])
    with torch.no_grad():
        start = time.perf_counter()
        decode.greedy(cfg, t, [ids[0, : s["prompt"]].tolist()], s["newTokens"])
        seconds = time.perf_counter() - start
    json.dump(
        {
            "train_step_ms": train_ms,
            "generate_tokens_per_s": s["newTokens"] / seconds,
            "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "torch": torch.__version__,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
