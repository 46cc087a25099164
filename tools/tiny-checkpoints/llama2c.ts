import * as fs from 'fs';
import { HfCheckpoint } from '../../src/models/hf-checkpoint';

/**
 * Writes a Hugging Face LLaMA folder as a llama2.c file, by the layout llama2.c's export.py
 * uses: rotary pairs of wq/wk interleaved (the inverse of HF's converter), a negative vocab size
 * for an untied classifier. `silencedTokens` get a zero classifier row, so a random model does
 * not stop llama2.c's run.c early by predicting BOS.
 */
export function writeLlama2c(
  hfFolder: string,
  file: string,
  options: { seqLen?: number; silencedTokens?: number[] } = {},
): void {
  const checkpoint = HfCheckpoint.open(hfFolder);
  const config = checkpoint.config as Record<string, number>;
  const [dim, hidden, layers, heads, kvHeads, vocab] = [
    config.hidden_size,
    config.intermediate_size,
    config.num_hidden_layers,
    config.num_attention_heads,
    config.num_key_value_heads,
    config.vocab_size,
  ];
  const seqLen = options.seqLen ?? 64;
  const headDim = dim / heads;
  const tensor = (name: string) => Float32Array.from(checkpoint.read(name).data);
  const interleave = (weight: Float32Array, nHeads: number) => {
    const out = new Float32Array(weight.length);
    for (let h = 0; h < nHeads; h++)
      for (let j = 0; j < headDim / 2; j++)
        for (const c of [0, 1]) {
          const from = (h * headDim + c * (headDim / 2) + j) * dim;
          out.set(weight.subarray(from, from + dim), (h * headDim + 2 * j + c) * dim);
        }
    return out;
  };
  const fd = fs.openSync(file, 'w');
  const write = (values: Float32Array) =>
    fs.writeSync(fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  try {
    const header = new Int32Array([dim, hidden, layers, heads, kvHeads, -vocab, seqLen]);
    fs.writeSync(fd, new Uint8Array(header.buffer));
    const p = (i: number) => `model.layers.${i}`;
    const perLayer = (name: (i: number) => string, transform = (w: Float32Array) => w) => {
      for (let i = 0; i < layers; i++) write(transform(tensor(name(i))));
    };
    write(tensor('model.embed_tokens.weight'));
    perLayer((i) => `${p(i)}.input_layernorm.weight`);
    perLayer(
      (i) => `${p(i)}.self_attn.q_proj.weight`,
      (w) => interleave(w, heads),
    );
    perLayer(
      (i) => `${p(i)}.self_attn.k_proj.weight`,
      (w) => interleave(w, kvHeads),
    );
    perLayer((i) => `${p(i)}.self_attn.v_proj.weight`);
    perLayer((i) => `${p(i)}.self_attn.o_proj.weight`);
    perLayer((i) => `${p(i)}.post_attention_layernorm.weight`);
    perLayer((i) => `${p(i)}.mlp.gate_proj.weight`);
    perLayer((i) => `${p(i)}.mlp.down_proj.weight`);
    perLayer((i) => `${p(i)}.mlp.up_proj.weight`);
    write(tensor('model.norm.weight'));
    write(new Float32Array(seqLen * headDim)); // freq_cis_real and freq_cis_imag, unused
    const classifier = tensor('lm_head.weight');
    for (const token of options.silencedTokens ?? []) classifier.fill(0, token * dim, (token + 1) * dim);
    write(classifier);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A llama2.c tokenizer.bin of `vocab` pieces that run.c can encode a prompt with: <unk>, BOS,
 * EOS, the 256 byte pieces it falls back to, a space (its dummy prefix), then placeholder words.
 */
export function writeLlama2cTokenizer(file: string, vocab: number): void {
  const pieces = ['<unk>', '\n<s>\n', '\n</s>\n'];
  for (let b = 0; b < 256; b++) pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  pieces.push(' ');
  while (pieces.length < vocab) pieces.push(` w${pieces.length}`);
  const encoded = pieces.slice(0, vocab).map((piece) => Buffer.from(piece, 'utf8'));
  const parts = [Buffer.from(new Int32Array([Math.max(...encoded.map((b) => b.length))]).buffer)];
  for (const piece of encoded) {
    const entry = Buffer.alloc(8);
    entry.writeFloatLE(0, 0);
    entry.writeInt32LE(piece.length, 4);
    parts.push(entry, piece);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
}
