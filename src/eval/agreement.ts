// How far one run's logits are from a reference run's on the same images: the
// numbers used to judge a quantized model (int8/f16) against its f32 source.
import { topK } from '../model/top-k.js';

export interface LogitAgreement {
  images: number;
  /** Share of images whose top-1 class is the reference's. */
  top1Agreement: number;
  maxAbsLogit: number;
  minCosine: number;
  meanCosine: number;
}

/** Running totals, so a long evaluation can feed one batch at a time. */
export class AgreementMeter {
  private n = 0;
  private agree = 0;
  private maxAbs = 0;
  private minCos = 1;
  private sumCos = 0;

  constructor(readonly classes: number) {
    if (!(Number.isInteger(classes) && classes > 0)) throw new RangeError(`classes must be a positive integer, got ${classes}`);
  }

  /** Row-major (images × classes) logits of the same images, in the same order. */
  add(reference: Float32Array, other: Float32Array): void {
    const C = this.classes;
    if (reference.length !== other.length || reference.length % C !== 0) {
      throw new RangeError(`logit arrays of ${reference.length} and ${other.length} values do not hold the same whole rows of ${C}`);
    }
    for (let at = 0; at < reference.length; at += C) {
      const r = reference.subarray(at, at + C), g = other.subarray(at, at + C);
      let ab = 0, aa = 0, bb = 0;
      for (let j = 0; j < C; j++) {
        this.maxAbs = Math.max(this.maxAbs, Math.abs(g[j] - r[j]));
        ab += g[j] * r[j]; aa += g[j] * g[j]; bb += r[j] * r[j];
      }
      const cos = aa === 0 || bb === 0 ? (aa === bb ? 1 : 0) : ab / Math.sqrt(aa * bb);
      this.minCos = Math.min(this.minCos, cos);
      this.sumCos += cos;
      if (topK(r, 1)[0].index === topK(g, 1)[0].index) this.agree++;
      this.n++;
    }
  }

  result(): LogitAgreement {
    const n = Math.max(1, this.n);
    return { images: this.n, top1Agreement: this.agree / n, maxAbsLogit: this.maxAbs, minCosine: this.minCos, meanCosine: this.sumCos / n };
  }
}

export function logitAgreement(reference: Float32Array, other: Float32Array, classes: number): LogitAgreement {
  const meter = new AgreementMeter(classes);
  meter.add(reference, other);
  return meter.result();
}
