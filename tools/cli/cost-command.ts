import * as fs from 'fs';
import { architectureFromConfig } from '../../src/models/registry';
import { subnetCost } from '../../src/nas/cost';
import { elasticPlanFor, readNasConfig } from '../../src/nas/nas-config';
import { tracedTokens } from '../../src/nas/nncf-config';
import type { SearchSpace, SubnetConfig } from '../../src/nas/search-space';
import { parseLenientJson } from '../../src/config/lenient-json';
import { parseFlags, UsageError, type Command } from './command';
import { loraFlags, loraFlagOptions, loraFlagsUsage } from './lora-flags';

const usage = `usage: lonas cost --model_config <config.json> --nncf_config <file> [options]

Weights and MACs of a subnetwork, counted as NNCF does, from a config.json alone (no weights).

  --model_config FILE   the model's Hugging Face config.json
  --nncf_config FILE    an NNCF/lonas config with the search space
  --subnet S            max, min, heuristic, a JSON file, or inline JSON {"group": width, ...}
                        (or {"subnet": {...}} as lonas writes them); default heuristic
  --tokens N            tokens per sequence (default: the config's input_info, else 256)
  --attention_matmuls   also count the attention products Q K^T and P V
  --json                print {"weights": ..., "macs": ...}
${loraFlagsUsage}`;

/** max | min | heuristic | a file | inline JSON, as a subnet of `space`. */
export function parseSubnet(value: string, space: SearchSpace): SubnetConfig {
  if (value === 'max') return space.maximal();
  if (value === 'min') return space.minimal();
  if (value === 'heuristic') return space.heuristic();
  const text = fs.existsSync(value) ? fs.readFileSync(value, 'utf8') : value;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`--subnet must be max, min, heuristic, a JSON file or JSON, got '${value.slice(0, 60)}'`);
  }
  const subnet = typeof json === 'object' && json !== null && 'subnet' in json ? json.subnet : json;
  if (typeof subnet !== 'object' || subnet === null || Array.isArray(subnet)) {
    throw new UsageError(
      `--subnet must be an object of {group index: width}, got ${JSON.stringify(subnet)?.slice(0, 60)}`,
    );
  }
  return space.validate(subnet as Record<string, number>);
}

export const costCommand: Command = {
  name: 'cost',
  summary: "count a subnetwork's weights and MACs from config.json alone",
  usage,
  async run(args) {
    const values = parseFlags(args, {
      model_config: { type: 'string' },
      nncf_config: { type: 'string' },
      subnet: { type: 'string', default: 'heuristic' },
      tokens: { type: 'string' },
      attention_matmuls: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...loraFlagOptions,
    });
    if (values.model_config === undefined || values.nncf_config === undefined) {
      throw new UsageError('--model_config and --nncf_config are required');
    }
    if (!fs.existsSync(values.model_config)) throw new UsageError(`${values.model_config}: no such file`);
    const configJson = parseLenientJson(fs.readFileSync(values.model_config, 'utf8'), values.model_config);
    if (typeof configJson !== 'object' || configJson === null || Array.isArray(configJson)) {
      throw new UsageError(`${values.model_config}: expected a JSON object (a model's config.json)`);
    }
    const architecture = architectureFromConfig(configJson as Record<string, unknown>, values.model_config);
    const nasConfig = readNasConfig(values.nncf_config);
    const plan = elasticPlanFor(nasConfig, architecture, loraFlags(values));
    const tokens = values.tokens === undefined ? (tracedTokens(nasConfig.nncf) ?? 256) : Number(values.tokens);
    if (!Number.isInteger(tokens) || tokens < 1)
      throw new UsageError(`--tokens must be a positive integer, got '${values.tokens}'`);
    const subnet = parseSubnet(values.subnet, plan.space);
    const cost = subnetCost(plan, subnet, { tokens, attentionMatmuls: values.attention_matmuls });
    process.stdout.write(
      values.json
        ? `${JSON.stringify(cost)}\n`
        : `weights ${cost.weights.toExponential(3)}  MACs ${cost.macs.toExponential(3)}  (${tokens} tokens)\n`,
    );
    return 0;
  },
};
