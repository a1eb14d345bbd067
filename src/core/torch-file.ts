/**
 * PyTorch's checkpoint format, written from TypeScript: what `torch.save(obj, f)` makes and
 * `torch.load(f)` reads (PyTorch 1.6 and later, `weights_only=True` included). A zip
 * (zip.ts, entries 64-byte aligned) holding
 *   archive/data.pkl     the object, a protocol-2 pickle (pickle.ts) whose tensors are
 *                        torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
 *                        and whose storages are persistent ids ('storage', torch.FloatStorage, key, 'cpu', numel)
 *   archive/byteorder    "little"
 *   archive/data/<key>   each storage's bytes, little-endian
 *   archive/version      the container's format version, 3
 * Float32 tensors only; two tensors made from the same Float32Array share one storage, as a tied
 * weight does in a state_dict.
 */
import { call, global, persistent, pickle, tuple, type Py } from './pickle.ts';
import { zip, type ZipEntry } from './zip.ts';

const ARCHIVE = 'archive';
const FORMAT_VERSION = '3\n';

/** Little-endian bytes of a float32 array. */
function float32LE(data: Float32Array): Uint8Array {
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (littleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** Collects tensors into storages while the object is built, then writes the file. */
export class TorchFile {
  private readonly storages = new Map<Float32Array, string>();

  /** A float32 tensor of `shape` over `data` (row-major), as the pickle refers to it. */
  tensor(data: Float32Array, shape: readonly number[]): Py {
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel !== data.length) throw new Error(`a tensor of shape [${shape}] needs ${numel} values, got ${data.length}`);
    let key = this.storages.get(data);
    if (key === undefined) {
      key = String(this.storages.size);
      this.storages.set(data, key);
    }
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const storage = persistent(tuple('storage', global('torch', 'FloatStorage'), key, 'cpu', data.length));
    return call(
      'torch._utils',
      '_rebuild_tensor_v2',
      storage,
      0,
      tuple(...shape),
      tuple(...stride),
      false,
      call('collections', 'OrderedDict'),
    );
  }

  /** The file `torch.save(value)` would write. */
  save(value: Py): Uint8Array {
    const entries: ZipEntry[] = [
      { path: `${ARCHIVE}/data.pkl`, bytes: pickle(value) },
      { path: `${ARCHIVE}/byteorder`, bytes: new TextEncoder().encode('little') },
      ...[...this.storages].map(([data, key]) => ({ path: `${ARCHIVE}/data/${key}`, bytes: float32LE(data) })),
      { path: `${ARCHIVE}/version`, bytes: new TextEncoder().encode(FORMAT_VERSION) },
    ];
    return zip(entries, 64);
  }
}
