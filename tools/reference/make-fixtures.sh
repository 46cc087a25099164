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

# Token ids of real vocabularies for test/fixtures/reference/sentences.json, from references that
# share no code with lonas: bert_tokenize.py (WordPiece) and SentencePiece itself (Debian's
# python3-sentencepiece) on LLaMA's tokenizer.model.
shared=../shared/data/tokenizers
if [ -d "$shared" ]; then
  /usr/bin/python3 - "$shared" "$fixtures" <<'PY'
import json, subprocess, sys
import sentencepiece
shared, fixtures = sys.argv[1:]
sentences = f"{fixtures}/sentences.json"
bert = json.loads(subprocess.check_output(
    ["/usr/bin/python3", "tools/reference/bert_tokenize.py", f"{shared}/bert-base-uncased/vocab.txt", sentences]))
llama = sentencepiece.SentencePieceProcessor(model_file=f"{shared}/llama2/tokenizer.model")
ids = {"bert-base-uncased": bert, "llama2": [llama.encode(s) for s in json.load(open(sentences))]}
json.dump(ids, open(f"{fixtures}/token-ids.json", "w"))
PY
  echo "wrote $fixtures/token-ids.json"
fi
