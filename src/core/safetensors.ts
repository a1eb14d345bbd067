/**
 * The safetensors format (github.com/huggingface/safetensors), float32 only: an 8-byte
 * little-endian header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets}},
 * plus "__metadata__": {string: string}), then the tensors' bytes, little-endian.
 * Reading checks every size and offset before it allocates anything for a tensor.
 */

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface Safetensors {
  metadata: Record<string, string>;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Limits a reader enforces, so a hostile file cannot make it allocate much. */
export interface ReadLimits {
  maxBytes: number; // the whole file
  maxHeaderBytes: number;
  maxTensors: number;
}

export const defaultReadLimits: ReadLimits = {
  maxBytes: 2 * 1024 ** 3,
  maxHeaderBytes: 100 * 1024 * 1024, // the reference implementation's limit
  maxTensors: 10_000,
};

/** Raised for any file that is not well-formed float32 safetensors; says what is wrong. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Little-endian bytes of a float32 array, whatever the platform's byte order. */
function float32ToLE(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

export function writeSafetensors(tensors: NamedTensor[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const t of tensors) {
    out.set(float32ToLE(t.data), pos);
    pos += t.data.length * 4;
  }
  return out;
}

function isShape(x: unknown): x is number[] {
  return Array.isArray(x) && x.length <= 8 && x.every((d) => Number.isInteger(d) && d >= 0 && d <= 2 ** 31);
}

/**
 * The header's length in bytes, from a file's first 8 bytes, checked against the file's size and
 * the limits before anything is read for it. Throws SafetensorsError.
 */
export function headerLength(first8: Uint8Array, fileSize: number, limits: ReadLimits = defaultReadLimits): number {
  if (fileSize < 8 || first8.length < 8) throw new SafetensorsError(`the file is ${fileSize} bytes, too short for a safetensors header`);
  const headerLen = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(limits.maxHeaderBytes, fileSize - 8)))
    throw new SafetensorsError(`the header claims ${headerLen} bytes but the file has ${fileSize} (truncated, or not safetensors)`);
  return Number(headerLen);
}

/** The header's JSON object from its bytes (tensor descriptions and __metadata__, unchecked). Throws SafetensorsError. */
export function parseHeader(bytes: Uint8Array): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new SafetensorsError('the header is not valid JSON (truncated, or not safetensors)');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError('the header is not a JSON object');
  return header as Record<string, unknown>;
}

export function readSafetensors(bytes: Uint8Array, limits: ReadLimits = defaultReadLimits): Safetensors {
  const bad = (msg: string): never => {
    throw new SafetensorsError(msg);
  };
  if (bytes.length > limits.maxBytes) bad(`the file is ${bytes.length} bytes; the limit is ${limits.maxBytes}`);
  const n = headerLength(bytes, bytes.length, limits);
  const entries = Object.entries(parseHeader(bytes.subarray(8, 8 + n)));
  if (entries.length > limits.maxTensors + 1) bad(`the header lists ${entries.length} entries; the limit is ${limits.maxTensors}`);
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  // Every description is checked first and the data copied only after, so the work is bounded by
  // the file's size: the byte buffer must be covered exactly once (the format allows no holes and
  // no overlaps), or a small file could name the same megabytes for many tensors.
  const described: { name: string; shape: number[]; count: number; begin: number; end: number }[] = [];
  for (const [name, raw] of entries) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) bad('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') bad(`metadata ${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) bad(`tensor ${name} has no description`);
    if (e.dtype !== 'F32') bad(`tensor ${name} is ${String(e.dtype)}; only F32 is supported`);
    if (!isShape(e.shape)) bad(`tensor ${name} has an invalid shape`);
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o)))
      bad(`tensor ${name} has invalid data offsets`);
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (!(begin >= 0 && begin <= end && end <= dataLen)) bad(`tensor ${name} lies outside the file (truncated?)`);
    if (end - begin !== 4 * count) bad(`tensor ${name} has ${end - begin} bytes for shape [${shape}] (${4 * count} expected)`);
    described.push({ name, shape, count, begin, end });
  }
  let covered = 0;
  for (const t of [...described].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (t.begin < covered) bad(`tensor ${t.name} overlaps another tensor's bytes (offset ${t.begin}, before ${covered})`);
    if (t.begin > covered) bad(`the data has a hole: no tensor holds bytes ${covered}–${t.begin}`);
    covered = t.end;
  }
  if (covered !== dataLen) bad(`the file has ${dataLen - covered} bytes after its last tensor (truncated, or not safetensors)`);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { name, shape, count, begin, end } of described) {
    const data = new Float32Array(count);
    const tv = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    for (let i = 0; i < count; i++) data[i] = tv.getFloat32(i * 4, true);
    tensors.set(name, { shape, data });
  }
  return { metadata, tensors };
}
