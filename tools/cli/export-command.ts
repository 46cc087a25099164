import { selectBackend } from '../../src/backend';
import { loadAdapter, saveAdapter } from '../../src/nas/peft-adapter';
import { openCheckpoint } from '../../src/models/checkpoint';
import { exportCompressedModel } from '../../src/nas/export-compressed';
import { readNasConfig } from '../../src/nas/nas-config';
import { openSuperNetwork } from '../../src/nas/open-super-network';
import { parseFlags, UsageError, type Command } from './command';
import { parseSubnet } from './cost-command';
import { loraFlagOptions, loraFlags, loraFlagsUsage } from './lora-flags';

const usage = `usage: lonas export --model_name_or_path PATH --nncf_config FILE --lora_weights DIR --subnet S --output_dir DIR

Writes one subnetwork of a trained super-adapter:
  <output_dir>/adapter/     a PEFT sub-adapter (ranks cut, rank_pattern/alpha_pattern keep alpha / r_max)
  <output_dir>/compressed/  a standalone model: base widths cut, adapter merged, loadable by lonas

  --model_name_or_path PATH  the base model (Hugging Face folder or llama2.c .bin)
  --nncf_config FILE         the config with the search space
  --lora_weights DIR         the super-adapter (adapter_config.json + adapter_model.safetensors)
  --subnet S                 max, min, heuristic, a JSON file or inline JSON
  --output_dir DIR           where to write
  --backend NAME             tensorflow, webgpu, wasm, cpu or auto
${loraFlagsUsage}`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a subnetwork as a PEFT sub-adapter and as a compressed model',
  usage,
  async run(args) {
    const values = parseFlags(args, {
      model_name_or_path: { type: 'string' },
      nncf_config: { type: 'string' },
      lora_weights: { type: 'string' },
      subnet: { type: 'string', default: 'heuristic' },
      output_dir: { type: 'string' },
      backend: { type: 'string' },
      ...loraFlagOptions,
    });
    const { model_name_or_path: model, nncf_config: nncf, lora_weights: weights, output_dir: output } = values;
    if (model === undefined || nncf === undefined || weights === undefined || output === undefined) {
      throw new UsageError('--model_name_or_path, --nncf_config, --lora_weights and --output_dir are required');
    }
    await selectBackend({ requested: values.backend });
    const checkpoint = openCheckpoint(model);
    const { loaded, network } = openSuperNetwork(checkpoint, readNasConfig(nncf), { lora: loraFlags(values) });
    loadAdapter(weights, network);
    const subnet = parseSubnet(values.subnet, network.plan.space);
    network.activate(subnet);
    const taskType = loaded.kind === 'causal-lm' ? 'CAUSAL_LM' : 'SEQ_CLS';
    await saveAdapter(`${output}/adapter`, network, { baseModel: model, taskType, subnet });
    await exportCompressedModel(`${output}/compressed`, checkpoint, network, subnet);
    process.stdout.write(`wrote ${output}/adapter and ${output}/compressed\n`);
    loaded.model.dispose();
    return 0;
  },
};
