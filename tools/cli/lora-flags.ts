import type { LoraPlan } from '../../src/nas/elastic-plan';
import { UsageError } from './command';

/** The LoRA flags of the original LoNAS scripts, shared by every command that builds a super-network. */
export const loraFlagOptions = {
  target_modules: { type: 'string' },
  lora_r: { type: 'string' },
  lora_alpha: { type: 'string' },
  lora_dropout: { type: 'string' },
} as const;

export const loraFlagsUsage = `  --target_modules A,B  modules that get LoRA adapters (default: the config's, else LoNAS's for the family)
  --lora_r N            adapter rank r_max
  --lora_alpha N        LoRA alpha (scaling alpha / r_max)
  --lora_dropout P      dropout on the adapters' input`;

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got '${value}'`);
  return n;
}

export function loraFlags(values: {
  target_modules?: string;
  lora_r?: string;
  lora_alpha?: string;
  lora_dropout?: string;
}): Partial<LoraPlan> {
  const flags: Partial<LoraPlan> = {};
  if (values.target_modules !== undefined) {
    flags.targetModules = values.target_modules
      .replace(/[[\]'"\s]/g, '')
      .split(',')
      .filter((m) => m !== '');
  }
  const rank = number(values.lora_r, '--lora_r');
  const alpha = number(values.lora_alpha, '--lora_alpha');
  const dropout = number(values.lora_dropout, '--lora_dropout');
  if (rank !== undefined) flags.rank = rank;
  if (alpha !== undefined) flags.alpha = alpha;
  if (dropout !== undefined) flags.dropout = dropout;
  return flags;
}
