// SHA-256 (FIPS 180-4) that can be fed in pieces. WebCrypto's digest() only
// hashes a whole buffer, but the loader sees a weight file as a stream of
// network chunks and must not keep them all: it feeds each chunk here as it
// arrives and asks for the digest after the last one.

// Int32Array (not Uint32Array) everywhere: values stay in int32 range, so V8 keeps
// the rounds in integer arithmetic instead of doubles (several times faster).
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export class Sha256 {
  private readonly h = new Int32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  private readonly w = new Int32Array(16);
  /** Bytes of an unfinished 64-byte block carried to the next update(). */
  private readonly tail = new Uint8Array(64);
  private tailLength = 0;
  private total = 0;
  private finished = false;

  update(data: Uint8Array): this {
    if (this.finished) throw new Error('Sha256: update() after digest()');
    this.total += data.length;
    let at = 0;
    if (this.tailLength > 0) {
      const take = Math.min(64 - this.tailLength, data.length);
      this.tail.set(data.subarray(0, take), this.tailLength);
      this.tailLength += take;
      at = take;
      if (this.tailLength < 64) return this;
      this.blocks(this.tail, 0, 64);
      this.tailLength = 0;
    }
    const whole = (data.length - at) & ~63;
    this.blocks(data, at, whole);
    at += whole;
    this.tail.set(data.subarray(at), 0);
    this.tailLength = data.length - at;
    return this;
  }

  /** The 32-byte digest; the hasher cannot be fed afterwards. */
  digest(): Uint8Array {
    if (this.finished) throw new Error('Sha256: digest() called twice');
    this.finished = true;
    const bits = this.total * 8;
    const pad = new Uint8Array(this.tailLength < 56 ? 64 : 128);
    pad.set(this.tail.subarray(0, this.tailLength));
    pad[this.tailLength] = 0x80;
    const dv = new DataView(pad.buffer);
    // The message length in bits as a 64-bit big-endian number (files stay below 2^53 bits).
    dv.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
    dv.setUint32(pad.length - 4, bits >>> 0);
    this.blocks(pad, 0, pad.length);
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) ov.setUint32(4 * i, this.h[i]);
    return out;
  }

  hex(): string {
    return toHex(this.digest());
  }

  /** Compresses `length` bytes (a multiple of 64) of `data` from `offset`. */
  private blocks(data: Uint8Array, offset: number, length: number): void {
    const w = this.w, h = this.h;
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let a0 = h[0], b0 = h[1], c0 = h[2], d0 = h[3], e0 = h[4], f0 = h[5], g0 = h[6], h0 = h[7];
    for (let p = offset; p < offset + length; p += 64) {
      for (let i = 0; i < 16; i++) w[i] = dv.getInt32(p + 4 * i);  // big-endian words
      let a = a0, b = b0, c = c0, d = d0, e = e0, f = f0, g = g0, hh = h0;
      for (let i = 0; i < 64; i++) {
        // The message schedule in a ring of 16 words, extended as the rounds need it.
        let wi = w[i & 15];
        if (i >= 16) {
          const x = w[(i - 15) & 15], y = w[(i - 2) & 15];
          const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
          const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
          wi = w[i & 15] = (wi + s0 + w[(i - 7) & 15] + s1) | 0;
        }
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + wi) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0;
        d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      a0 = (a0 + a) | 0; b0 = (b0 + b) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
      e0 = (e0 + e) | 0; f0 = (f0 + f) | 0; g0 = (g0 + g) | 0; h0 = (h0 + hh) | 0;
    }
    h[0] = a0; h[1] = b0; h[2] = c0; h[3] = d0; h[4] = e0; h[5] = f0; h[6] = g0; h[7] = h0;
  }
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** One-shot hash of a buffer with this implementation. */
export function sha256Hex(data: Uint8Array): string {
  return new Sha256().update(data).hex();
}

/**
 * Hash of a whole buffer: WebCrypto where the context offers it (native, several
 * times faster; absent on plain-http pages other than localhost), else ours.
 */
export async function digestHex(data: Uint8Array): Promise<string> {
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  if (subtle) {
    try {
      return toHex(new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>)));
    } catch {
      // fall through (e.g. a SharedArrayBuffer view WebCrypto refuses)
    }
  }
  return sha256Hex(data);
}
