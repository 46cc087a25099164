"""PyTorch reference timings for `npm run bench generation`: the same greedy decoding and beam
search lonas measures, on the same checkpoint, with a key/value cache and the same batching.

    /usr/bin/python3 tools/reference/bench_generate.py <checkpoint-folder> <settings.json>

settings.json: {"threads": 1, "runs": 3, "greedy_prompt": [ids], "new_tokens": 64,
"task_prompts": [[ids], ...], "task_new_tokens": 32, "beams": 4, "eval_batch": 8}. Prints
{"greedy_ms_per_token": median, "greedy_ids": [...], "task_s": median seconds for all task
prompts, "task_ids": [best sequence per prompt], "torch": version}.
"""
import json
import statistics
import sys
import time

import torch

import decode
import forward


def timed(run, runs):
    """The last result and the median wall time over `runs` runs after one untimed."""
    result = run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def main():
    folder, settings_path = sys.argv[1], sys.argv[2]
    s = json.load(open(settings_path))
    torch.set_num_threads(s["threads"])
    cfg = json.load(open(f"{folder}/config.json"))
    t = forward.read_safetensors(f"{folder}/model.safetensors")
    with torch.no_grad():
        greedy_ids, greedy_s = timed(lambda: decode.greedy(cfg, t, [s["greedy_prompt"]], s["new_tokens"])[0], s["runs"])
        prompts, batch = s["task_prompts"], s["eval_batch"]

        def task():
            out = []
            for i in range(0, len(prompts), batch):
                out += decode.beam_search(cfg, t, prompts[i : i + batch], s["task_new_tokens"], s["beams"])
            return out

        task_ids, task_s = timed(task, s["runs"])
    json.dump(
        {
            "greedy_ms_per_token": greedy_s * 1000 / s["new_tokens"],
            "greedy_ids": greedy_ids,
            "task_s": task_s,
            "task_ids": task_ids,
            "torch": torch.__version__,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
