import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SafetensorsFile, writeSafetensors } from '../../src/io/safetensors';

describe('safetensors', () => {
  let folder: string;
  beforeAll(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lonas-st-'));
  });
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  /** A file written byte by byte, independent of writeSafetensors. */
  function handMade(name: string, header: object, data: Buffer): string {
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    const file = path.join(folder, name);
    fs.writeFileSync(file, Buffer.concat([length, json, data]));
    return file;
  }

  it('round-trips F32, I32 and I64 tensors and metadata', () => {
    const file = path.join(folder, 'roundtrip.safetensors');
    writeSafetensors(
      file,
      {
        'a.weight': { shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 4, 5, 6e-8) },
        counts: { shape: [3], data: Int32Array.of(7, -8, 9) },
        ids: { shape: [2], data: Int32Array.of(123456, -1), dtype: 'I64' },
      },
      { format: 'pt' },
    );
    const read = SafetensorsFile.open(file);
    expect(read.metadata).toEqual({ format: 'pt' });
    expect(read.entries.get('ids')?.dtype).toBe('I64');
    expect(Array.from(read.read('a.weight').data)).toEqual(Array.from(Float32Array.of(1, -2, 3.5, 4, 5, 6e-8)));
    expect(read.read('a.weight').shape).toEqual([2, 3]);
    expect(read.read('counts')).toMatchObject({ dtype: 'int32', data: Int32Array.of(7, -8, 9) });
    expect(read.read('ids')).toMatchObject({ dtype: 'int32', data: Int32Array.of(123456, -1) });
    // The header is padded to 8 bytes, as the reference implementation does.
    expect(fs.readFileSync(file).readBigUInt64LE(0) % 8n).toBe(0n);
  });

  it('upcasts F16 and BF16 to float32', () => {
    const data = Buffer.alloc(12);
    [0x3c00, 0xc000, 0x3555].forEach((bits, i) => data.writeUInt16LE(bits, 2 * i)); // 1, -2, 0.33325
    [0x3f80, 0xc040, 0x3eaa].forEach((bits, i) => data.writeUInt16LE(bits, 6 + 2 * i)); // 1, -3, 0.33203125
    const file = handMade(
      'half.safetensors',
      {
        h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
        b: { dtype: 'BF16', shape: [3], data_offsets: [6, 12] },
      },
      data,
    );
    const read = SafetensorsFile.open(file);
    expect(Array.from(read.read('h').data)).toEqual([1, -2, Math.fround(0.333251953125)]);
    expect(Array.from(read.read('b').data)).toEqual([1, -3, 0.33203125]);
  });

  it('names the file and tensor when a dtype is unsupported', () => {
    const file = handMade(
      'fp8.safetensors',
      { x: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } },
      Buffer.alloc(2),
    );
    expect(() => SafetensorsFile.open(file)).toThrow(
      /fp8\.safetensors: tensor 'x' has dtype F8_E4M3, which lonas cannot read/,
    );
  });

  it('refuses byte ranges that do not fit the shape or the file', () => {
    const file = handMade(
      'short.safetensors',
      { x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } },
      Buffer.alloc(8),
    );
    expect(() => SafetensorsFile.open(file)).toThrow(
      /tensor 'x': data_offsets \[0,16\] do not hold 16 bytes of F32\[4\] within 8 data bytes/,
    );
  });

  it('refuses a truncated or non-JSON header, and a missing file', () => {
    const truncated = path.join(folder, 'truncated.safetensors');
    fs.writeFileSync(truncated, Buffer.from([255, 0, 0, 0, 0, 0, 0, 0, 123]));
    expect(() => SafetensorsFile.open(truncated)).toThrow(/header length 255 exceeds the file/);
    const garbage = handMade('garbage.safetensors', {}, Buffer.alloc(0));
    fs.writeFileSync(garbage, Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{x')]));
    expect(() => SafetensorsFile.open(garbage)).toThrow(/header is not valid JSON/);
    for (const [json, kind] of [
      ['[1, 2]  ', 'an array'],
      ['null    ', 'null'],
      ['42      ', 'a number'],
    ]) {
      const odd = path.join(folder, 'odd.safetensors');
      fs.writeFileSync(odd, Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(json)]));
      expect(() => SafetensorsFile.open(odd)).toThrow(`${odd}: header is ${kind}, expected a JSON object of tensors`);
    }
    expect(() => SafetensorsFile.open(path.join(folder, 'nope.safetensors'))).toThrow(/no such safetensors file/);
  });

  it('writes atomically: no temporary file is left beside the result', () => {
    const file = path.join(folder, 'atomic', 'x.safetensors');
    writeSafetensors(file, { x: { shape: [1], data: Float32Array.of(1) } });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['x.safetensors']);
  });
});
