/**
 * A store-only zip writer (PKWARE APPNOTE 6.3: local headers, central directory, end record; no
 * compression, no zip64), enough for the nanoGPT hand-off: the app's one-file download and
 * PyTorch's checkpoint container, which is a zip whose entries start on 64-byte boundaries.
 * Entries are written in the order given, dated 1980-01-01 so the same files give the same bytes.
 */

/** One file of the archive: a relative path with forward slashes, and its bytes. */
export interface ZipEntry {
  path: string;
  bytes: Uint8Array;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the zip and PNG one: reflected, polynomial 0xEDB88320). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the earliest a zip can say
const UTF8_NAMES = 1 << 11; // general purpose flag: names are UTF-8
const PAD_FIELD = 0x4246; // an extra field that only pads (PyTorch's writer uses the same id, "FB")

/**
 * The archive as a list of byte chunks, in order (a Blob takes them without one more copy).
 * `align` > 1 pads each local header's extra field so every entry's data starts at a multiple of
 * it, as PyTorch's writer does (64) for its tensors.
 */
export function zipChunks(entries: readonly ZipEntry[], align = 1): Uint8Array[] {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const { path, bytes } of entries) {
    if (path === '' || path.startsWith('/') || path.includes('\\') || path.split('/').includes('..'))
      throw new Error(`zip entry ${JSON.stringify(path)} is not a relative path with forward slashes`);
    if (seen.has(path)) throw new Error(`zip entry ${path} is listed twice`);
    seen.add(path);
    const name = encoder.encode(path);
    const crc = crc32(bytes);
    let pad = 0;
    if (align > 1) {
      const dataStart = offset + 30 + name.length + 4; // the pad field's own 4-byte header counts
      pad = (align - (dataStart % align)) % align;
    }
    const extra = align > 1 ? 4 + pad : 0;
    if (offset + 30 + name.length + extra + bytes.length > 0xffffffff)
      throw new Error(`the archive would pass 4 GiB at ${path}; this writer makes no zip64`);

    const local = new Uint8Array(30 + name.length + extra);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true); // local file header signature
    lv.setUint16(4, 20, true); // version needed to extract: 2.0
    lv.setUint16(6, UTF8_NAMES, true);
    lv.setUint16(8, 0, true); // method: stored
    lv.setUint16(10, 0, true); // time 00:00
    lv.setUint16(12, DOS_DATE, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, bytes.length, true); // compressed size
    lv.setUint32(22, bytes.length, true); // uncompressed size
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extra, true);
    local.set(name, 30);
    if (extra) {
      lv.setUint16(30 + name.length, PAD_FIELD, true);
      lv.setUint16(32 + name.length, pad, true);
      local.fill(0x5a, 34 + name.length); // 'Z', as PyTorch pads
    }

    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true); // central directory header signature
    cv.setUint16(4, 20, true); // version made by: 2.0, MS-DOS attributes
    cv.setUint16(6, 20, true);
    cv.setUint16(8, UTF8_NAMES, true);
    cv.setUint16(10, 0, true);
    cv.setUint16(12, 0, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, bytes.length, true);
    cv.setUint32(24, bytes.length, true);
    cv.setUint16(28, name.length, true);
    // extra 0, comment 0, disk 0, internal and external attributes 0
    cv.setUint32(42, offset, true); // where the local header starts
    cd.set(name, 46);

    chunks.push(local, bytes);
    central.push(cd);
    offset += local.length + bytes.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  if (entries.length > 0xffff) throw new Error(`${entries.length} entries are more than a zip without zip64 holds`);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true); // end of central directory signature
  ev.setUint16(8, entries.length, true); // entries on this disk
  ev.setUint16(10, entries.length, true); // entries in all
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true); // where the central directory starts
  return [...chunks, ...central, end];
}

/** The archive as one byte array. */
export function zip(entries: readonly ZipEntry[], align = 1): Uint8Array {
  const chunks = zipChunks(entries, align);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
