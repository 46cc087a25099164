import { ConfigError } from './decode';

/**
 * Rewrites `text` outside string literals: `visit` sees each position outside strings and
 * returns how many characters it consumed and what to emit for them.
 */
function rewriteOutsideStrings(text: string, visit: (at: number) => [consumed: number, emitted: string]): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      const [consumed, emitted] = visit(i);
      out += emitted;
      i += consumed;
    }
  }
  return out;
}

/**
 * Parses JSON as NNCF's jstyleson does: // and block comments and trailing commas are allowed
 * (the official LoNAS configs have trailing commas).
 */
export function parseLenientJson(text: string, source: string): unknown {
  const withoutComments = rewriteOutsideStrings(text, (i) => {
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      return [(end < 0 ? text.length : end) - i, ''];
    }
    if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      return [(end < 0 ? text.length : end + 2) - i, ' '];
    }
    return [1, text[i]];
  });
  const nonSpace = /\S/g;
  const withoutTrailingCommas = rewriteOutsideStrings(withoutComments, (i) => {
    if (withoutComments[i] !== ',') return [1, withoutComments[i]];
    nonSpace.lastIndex = i + 1;
    const next = nonSpace.exec(withoutComments)?.[0];
    return [1, next === '}' || next === ']' ? '' : ','];
  });
  try {
    return JSON.parse(withoutTrailingCommas);
  } catch (error) {
    throw new ConfigError(`${source}: not valid JSON (${(error as Error).message})`);
  }
}
