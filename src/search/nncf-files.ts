import * as fs from 'fs';
import type { SubnetConfig } from '../nas/search-space';

/**
 * NNCF's search output formats. search_progression.csv rows are
 * `<subnet repr>,MACs,<millions>,top1_acc,<-accuracy>` with the subnet as Python's repr of
 * OrderedDict([(<ElasticityDim.WIDTH: 'width'>, {0: w0, ...})]); cache_MACs.csv and
 * cache_top1_acc.csv rows are `"(i0, i1, ...)",<value>` keyed by gene indices, accuracy negated.
 */

/** A CSV field as Python's csv.writer quotes it (only when needed). */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvRow = (fields: Array<string | number>) => fields.map(csvField).join(',');

export function subnetRepr(subnet: SubnetConfig): string {
  const entries = Object.entries(subnet)
    .map(([group, width]) => `${group}: ${width}`)
    .join(', ');
  return `OrderedDict([(<ElasticityDim.WIDTH: 'width'>, {${entries}})])`;
}

/** Python's repr of a tuple of gene indices. */
export function geneTuple(genes: number[]): string {
  return genes.length === 1 ? `(${genes[0]},)` : `(${genes.join(', ')})`;
}

export function progressionRow(subnet: SubnetConfig, macs: number, accuracy: number): string {
  return csvRow([subnetRepr(subnet), 'MACs', macs, 'top1_acc', -accuracy]);
}

/**
 * Reads a cache CSV back into gene-tuple -> value. A row that is not a gene tuple and a finite
 * number (an edited or damaged file) is an error naming the file and line: a wrong value would
 * pass for a score.
 */
export function readCacheCsv(file: string): Map<string, number> {
  const cache = new Map<string, number>();
  if (!fs.existsSync(file)) return cache;
  fs.readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line === '') return;
      const match = /^"(\((?:\d+,|\d+(?:, \d+)+)?\))",(.+)$/.exec(line);
      const value = Number(match?.[2]);
      if (match === null || match[2].trim() === '' || !Number.isFinite(value)) {
        throw new Error(
          `${file}, line ${i + 1}: expected "(gene, gene, ...)",<number>, got '${line.slice(0, 80)}'; ` +
            'correct the row or delete it (it is then evaluated again)',
        );
      }
      cache.set(match[1], value);
    });
  return cache;
}
