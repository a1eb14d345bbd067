/**
 * A writer of Python pickles, protocol 2 (the one PyTorch's torch.save uses, and which any Python 3
 * reads), for plain data: None, bools, ints, floats, strings, lists, tuples, dicts, and the two
 * things a PyTorch checkpoint adds: a call of a named global (REDUCE) and a persistent id (a tensor's
 * storage). Only opcodes that PyTorch's weights_only unpickler also accepts are written.
 * The opcodes are those of CPython's Lib/pickle.py; pickletools.dis shows what was written.
 */

/** A value a pickle can hold. A JS number is an int when whole, else a float; wrap it in `float()` to force a float. */
export type Py = null | boolean | number | string | PyFloat | PyTuple | Py[] | PyDict | PyCall | PyGlobal | PyPersistent | PyObject;

/** A dict with string keys, in the object's key order. */
export interface PyObject {
  readonly [key: string]: Py;
}

/** A Python float, even for a whole number (1.0, not 1). */
export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyTuple {
  constructor(readonly items: readonly Py[]) {}
}

/** A dict with keys of any kind, in the order given. */
export class PyDict {
  constructor(readonly entries: readonly (readonly [Py, Py])[]) {}
}

/** `module.name`, the object itself (a class, a function). */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** `module.name(*args)`, called when the pickle is loaded. */
export class PyCall {
  constructor(
    readonly fn: PyGlobal,
    readonly args: readonly Py[],
  ) {}
}

/** Whatever the loader's persistent_load makes of `id` (PyTorch: a tensor storage). */
export class PyPersistent {
  constructor(readonly id: Py) {}
}

export const float = (x: number) => new PyFloat(x);
export const tuple = (...items: Py[]) => new PyTuple(items);
export const dict = (entries: Iterable<readonly [Py, Py]>) => new PyDict([...entries]);
export const global = (module: string, name: string) => new PyGlobal(module, name);
export const call = (module: string, name: string, ...args: Py[]) => new PyCall(global(module, name), args);
export const persistent = (id: Py) => new PyPersistent(id);

const OP = {
  PROTO: 0x80,
  STOP: 0x2e, // .
  MARK: 0x28, // (
  NONE: 0x4e, // N
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a, // J: 4-byte signed
  BININT1: 0x4b, // K: 1-byte unsigned
  BININT2: 0x4d, // M: 2-byte unsigned
  LONG1: 0x8a, // n bytes, two's complement, little-endian
  BINFLOAT: 0x47, // G: 8-byte big-endian double
  BINUNICODE: 0x58, // X: 4-byte length, UTF-8
  EMPTY_LIST: 0x5d, // ]
  APPENDS: 0x65, // e
  EMPTY_TUPLE: 0x29, // )
  TUPLE: 0x74, // t
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  EMPTY_DICT: 0x7d, // }
  SETITEMS: 0x75, // u
  GLOBAL: 0x63, // c
  REDUCE: 0x52, // R
  BINPERSID: 0x51, // Q
} as const;

/** Items per APPENDS or SETITEMS, as CPython's pickler batches them. */
const BATCH = 1000;

class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private readonly encoder = new TextEncoder();

  private reserve(n: number) {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number) {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array) {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  u16(n: number) {
    this.reserve(2);
    this.view.setUint16(this.length, n, true);
    this.length += 2;
  }

  i32(n: number) {
    this.reserve(4);
    this.view.setInt32(this.length, n, true);
    this.length += 4;
  }

  u32(n: number) {
    this.reserve(4);
    this.view.setUint32(this.length, n, true);
    this.length += 4;
  }

  f64be(x: number) {
    this.reserve(8);
    this.view.setFloat64(this.length, x, false);
    this.length += 8;
  }

  utf8(s: string): Uint8Array {
    return this.encoder.encode(s);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function writeInt(w: Writer, n: number) {
  if (!Number.isSafeInteger(n)) throw new Error(`${n} is not an integer a pickle can hold exactly (beyond 2^53)`);
  if (n >= 0 && n < 0x100) {
    w.byte(OP.BININT1);
    w.byte(n);
  } else if (n >= 0 && n < 0x10000) {
    w.byte(OP.BININT2);
    w.u16(n);
  } else if (n >= -0x80000000 && n < 0x80000000) {
    w.byte(OP.BININT);
    w.i32(n);
  } else {
    // LONG1: the fewest bytes of two's complement that keep the sign.
    let v = BigInt(n);
    const out: number[] = [];
    do {
      out.push(Number(v & 0xffn));
      v >>= 8n;
    } while (!((v === 0n && out[out.length - 1] < 0x80) || (v === -1n && out[out.length - 1] >= 0x80)));
    w.byte(OP.LONG1);
    w.byte(out.length);
    for (const b of out) w.byte(b);
  }
}

function writeStr(w: Writer, s: string) {
  const b = w.utf8(s);
  w.byte(OP.BINUNICODE);
  w.u32(b.length);
  w.bytes(b);
}

function write(w: Writer, v: Py) {
  if (v === null) w.byte(OP.NONE);
  else if (v === true) w.byte(OP.NEWTRUE);
  else if (v === false) w.byte(OP.NEWFALSE);
  else if (typeof v === 'number') {
    if (Number.isInteger(v)) writeInt(w, v);
    else {
      w.byte(OP.BINFLOAT);
      w.f64be(v);
    }
  } else if (typeof v === 'string') writeStr(w, v);
  else if (v instanceof PyFloat) {
    w.byte(OP.BINFLOAT);
    w.f64be(v.value);
  } else if (v instanceof PyTuple) writeTuple(w, v.items);
  else if (Array.isArray(v)) {
    w.byte(OP.EMPTY_LIST);
    for (let i = 0; i < v.length; i += BATCH) {
      w.byte(OP.MARK);
      for (const item of v.slice(i, i + BATCH)) write(w, item);
      w.byte(OP.APPENDS);
    }
  } else if (v instanceof PyDict) writeDict(w, v.entries);
  else if (v instanceof PyGlobal) {
    if (/[\n]/.test(v.module + v.name)) throw new Error(`a global's name cannot hold a newline: ${v.module}.${v.name}`);
    w.byte(OP.GLOBAL);
    w.bytes(w.utf8(`${v.module}\n${v.name}\n`));
  } else if (v instanceof PyCall) {
    write(w, v.fn);
    writeTuple(w, v.args);
    w.byte(OP.REDUCE);
  } else if (v instanceof PyPersistent) {
    write(w, v.id);
    w.byte(OP.BINPERSID);
  } else writeDict(w, Object.entries(v));
}

function writeTuple(w: Writer, items: readonly Py[]) {
  if (items.length === 0) return w.byte(OP.EMPTY_TUPLE);
  if (items.length > 3) w.byte(OP.MARK);
  for (const item of items) write(w, item);
  w.byte([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][items.length - 1] ?? OP.TUPLE);
}

function writeDict(w: Writer, entries: readonly (readonly [Py, Py])[]) {
  w.byte(OP.EMPTY_DICT);
  for (let i = 0; i < entries.length; i += BATCH) {
    w.byte(OP.MARK);
    for (const [k, val] of entries.slice(i, i + BATCH)) {
      write(w, k);
      write(w, val);
    }
    w.byte(OP.SETITEMS);
  }
}

/** `value` as a protocol-2 pickle: what Python's pickle.loads reads back as the same value. */
export function pickle(value: Py): Uint8Array {
  const w = new Writer();
  w.byte(OP.PROTO);
  w.byte(2);
  write(w, value);
  w.byte(OP.STOP);
  return w.result();
}
