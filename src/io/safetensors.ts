import * as fs from 'fs';
import { writeFileAtomic } from './atomic-write';

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range (plus optional string `__metadata__`), then the bytes.
 * Tensors are read one at a time from the file, so a multi-gigabyte shard is never held whole.
 */

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const bytesPerElement: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface TensorEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

/** Values as lonas computes with them: floats upcast to float32, integers to int32. */
export type TensorValues = { dtype: 'float32'; data: Float32Array } | { dtype: 'int32'; data: Int32Array };

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Converts one IEEE half-precision value to a JavaScript number. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

const halfTable = (() => {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = halfToFloat(bits);
  return table;
})();

function decode(bytes: Buffer, entry: TensorEntry, describe: string): TensorValues {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  // Copy into an aligned buffer: typed-array views need offsets that are multiples of their width.
  const raw = new Uint8Array(bytes.length);
  raw.set(bytes);
  const view = new DataView(raw.buffer);
  switch (entry.dtype) {
    case 'F32':
      return { dtype: 'float32', data: new Float32Array(raw.buffer, 0, count) };
    case 'F64':
      return { dtype: 'float32', data: Float32Array.from(new Float64Array(raw.buffer, 0, count)) };
    case 'F16': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = halfTable[view.getUint16(2 * i, true)];
      return { dtype: 'float32', data };
    }
    case 'BF16': {
      const words = new Uint32Array(count);
      for (let i = 0; i < count; i++) words[i] = view.getUint16(2 * i, true) << 16;
      return { dtype: 'float32', data: new Float32Array(words.buffer) };
    }
    case 'I64': {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const value = view.getBigInt64(8 * i, true);
        if (value > 2147483647n || value < -2147483648n) {
          throw new SafetensorsError(`${describe}: value ${value} at index ${i} does not fit in int32`);
        }
        data[i] = Number(value);
      }
      return { dtype: 'int32', data };
    }
    case 'I32':
      return { dtype: 'int32', data: new Int32Array(raw.buffer, 0, count) };
    case 'I16':
      return { dtype: 'int32', data: Int32Array.from(new Int16Array(raw.buffer, 0, count)) };
    case 'I8':
      return { dtype: 'int32', data: Int32Array.from(new Int8Array(raw.buffer, 0, count)) };
    case 'U8':
    case 'BOOL':
      return { dtype: 'int32', data: Int32Array.from(raw.subarray(0, count)) };
  }
}

/** An open safetensors file: its header is parsed; tensors are read on demand. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly metadata: Record<string, string>,
    readonly entries: Map<string, TensorEntry>,
    private readonly dataStart: number,
  ) {}

  static open(path: string): SafetensorsFile {
    if (!fs.existsSync(path)) throw new SafetensorsError(`${path}: no such safetensors file`);
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const lengthBytes = Buffer.alloc(8);
      if (size < 8 || fs.readSync(fd, lengthBytes, 0, 8, 0) !== 8) {
        throw new SafetensorsError(`${path}: too short to be a safetensors file (${size} bytes)`);
      }
      const headerLength = Number(lengthBytes.readBigUInt64LE(0));
      if (headerLength > size - 8 || headerLength > 100_000_000) {
        throw new SafetensorsError(`${path}: header length ${headerLength} exceeds the file (${size} bytes)`);
      }
      const headerBytes = Buffer.alloc(headerLength);
      fs.readSync(fd, headerBytes, 0, headerLength, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBytes.toString('utf8'));
      } catch (error) {
        throw new SafetensorsError(`${path}: header is not valid JSON (${(error as Error).message})`);
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header)) {
        const kind = Array.isArray(header) ? 'an array' : header === null ? 'null' : `a ${typeof header}`;
        throw new SafetensorsError(`${path}: header is ${kind}, expected a JSON object of tensors`);
      }
      const dataStart = 8 + headerLength;
      const dataSize = size - dataStart;
      const entries = new Map<string, TensorEntry>();
      let metadata: Record<string, string> = {};
      for (const [name, value] of Object.entries(header)) {
        if (name === '__metadata__') {
          metadata = value as Record<string, string>;
          continue;
        }
        entries.set(name, SafetensorsFile.checkEntry(path, name, value, dataSize));
      }
      return new SafetensorsFile(path, metadata, entries, dataStart);
    } finally {
      fs.closeSync(fd);
    }
  }

  private static checkEntry(path: string, name: string, value: unknown, dataSize: number): TensorEntry {
    const raw = value as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    const where = `${path}: tensor '${name}'`;
    if (raw.dtype === undefined || !(raw.dtype in bytesPerElement)) {
      throw new SafetensorsError(
        `${where} has dtype ${raw.dtype}, which lonas cannot read (supported: ${Object.keys(bytesPerElement).join(', ')})`,
      );
    }
    const dtype = raw.dtype as SafetensorsDtype;
    if (!Array.isArray(raw.shape) || !raw.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${where} has an invalid shape ${JSON.stringify(raw.shape)}`);
    }
    const [begin, end] = raw.data_offsets ?? [];
    const expected = raw.shape.reduce((a, b) => a * b, 1) * bytesPerElement[dtype];
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > dataSize || end - begin !== expected) {
      throw new SafetensorsError(
        `${where}: data_offsets ${JSON.stringify(raw.data_offsets)} do not hold ${expected} bytes of ` +
          `${dtype}[${raw.shape}] within ${dataSize} data bytes`,
      );
    }
    return { dtype, shape: raw.shape, begin, end };
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Reads one tensor, upcast to float32 (floats) or int32 (integers). */
  read(name: string): TensorValues & { shape: number[] } {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new SafetensorsError(`${this.path}: no tensor named '${name}'`);
    const bytes = Buffer.alloc(entry.end - entry.begin);
    const fd = fs.openSync(this.path, 'r');
    try {
      fs.readSync(fd, bytes, 0, bytes.length, this.dataStart + entry.begin);
    } finally {
      fs.closeSync(fd);
    }
    return { ...decode(bytes, entry, `${this.path}: tensor '${name}'`), shape: entry.shape };
  }
}

/** A tensor to write: float32 data is stored as F32, int32 data as I32 unless `dtype` says I64. */
export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype?: 'F32' | 'I32' | 'I64';
}

/** Serialises tensors (sorted by name, 8-byte aligned header) and writes the file atomically. */
export function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    const dtype = tensors[name].dtype ?? (data instanceof Float32Array ? 'F32' : 'I32');
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new SafetensorsError(`${path}: tensor '${name}' has ${data.length} values for shape [${shape}]`);
    }
    let bytes: Buffer;
    if (dtype === 'I64') {
      bytes = Buffer.alloc(8 * count);
      for (let i = 0; i < count; i++) bytes.writeBigInt64LE(BigInt(data[i]), 8 * i);
    } else {
      bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    }
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileAtomic(path, Buffer.concat([length, Buffer.from(json, 'utf8'), ...chunks]));
}
