#!/usr/bin/env bash
# Regenerates test/fixtures/reference/{llama,bloom,bert}.json: the tiny checkpoints (seed 0) run
# through the independent PyTorch reference (Debian's python3-torch) on the committed inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npx ts-node --transpile-only tools/tiny-checkpoints/make.ts "$work" 0 >/dev/null
fixtures=test/fixtures/reference
for family in llama bloom bert; do
  inputs=$fixtures/inputs-causal.json
  [ "$family" = bert ] && inputs=$fixtures/inputs-bert.json
  /usr/bin/python3 - "$work/$family" "$inputs" "$fixtures/$family.json" <<'PY'
import hashlib, json, subprocess, sys
folder, inputs, out = sys.argv[1:]
result = json.loads(subprocess.check_output(["/usr/bin/python3", "tools/reference/forward.py", folder, inputs]))
rounded = lambda x: [rounded(v) for v in x] if isinstance(x, list) else round(x, 6)
digest = hashlib.sha256(open(f"{folder}/model.safetensors", "rb").read()).hexdigest()
json.dump({"checkpoint_sha256": digest, "inputs": inputs.split("/")[-1], "logits": rounded(result["logits"])}, open(out, "w"))
PY
  echo "wrote $fixtures/$family.json"
done
