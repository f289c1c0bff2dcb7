// GPU preprocessing: stored pixels → one (3, s, s) slot of the model's image
// buffer, equal bit for bit to evalTransform (src/image/preprocess.ts) on the
// same pixels. See shaders/preprocess.wgsl for the passes and
// ./preprocess-geometry.ts for the maps and tables they use.
//
// Pixels reach the GPU either as bytes written into a storage buffer (raw
// pixels, decoded files) or, in browsers, through copyExternalImageToTexture
// (ImageBitmap, canvas, <img>, VideoFrame) followed by a texture → buffer copy,
// so one shader serves both.
import code from '../../shaders/preprocess.wgsl?raw';
import type { GpuContext } from '../gpu/context.js';
import { bindingSubset, type BindingMap, type Kernel } from '../gpu/bindings.js';
import { makeDispatch, encodeDispatches, type Dispatch } from '../gpu/dispatch.js';
import { checkBindingSize } from '../gpu/limits.js';
import { InputError, LimitExceededError } from '../errors.js';
import type { ExifOrientation } from '../image/exif.js';
import { axisTable, normalizeTable, preprocessGeometry, rowsRead, type PreprocessGeometry } from './preprocess-geometry.js';

export type PixelSource =
  | {
    kind: 'bytes';
    /** Row-major pixels, `channels` bytes each (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). */
    data: Uint8Array | Uint8ClampedArray;
    width: number;
    height: number;
    channels: 1 | 2 | 3 | 4;
    /** Bytes per row (default width · channels). */
    rowBytes?: number;
    /** EXIF orientation of the stored pixels (default 1): applied on the GPU. */
    orientation?: ExifOrientation;
  }
  | {
    kind: 'external';
    /** Anything copyExternalImageToTexture accepts (already upright). */
    source: GPUCopyExternalImageSource;
    width: number;
    height: number;
  };

export interface PreprocessTarget {
  /** (B, 3, s, s) float32 */
  image: GPUBuffer;
  /** Index of this image in the batch. */
  slot: number;
  size: number;
  /** From createNormalizeLut. */
  lut: GPUBuffer;
}

/** shaders/preprocess.wgsl's bindings: the horizontal pass reads src into mid, the vertical one mid into image. */
const PREPROCESS_BINDINGS = { params: 0, src: 1, taps: 2, mid: 3, lut: 4, image: 5 } as const satisfies BindingMap;
const HORIZONTAL = {
  name: 'preprocess', code, entryPoint: 'horizontal', bindings: bindingSubset(PREPROCESS_BINDINGS, ['params', 'src', 'taps', 'mid']),
} satisfies Kernel;
const VERTICAL = {
  name: 'preprocess', code, entryPoint: 'vertical', bindings: bindingSubset(PREPROCESS_BINDINGS, ['params', 'taps', 'mid', 'lut', 'image']),
} satisfies Kernel;
const WORKGROUP = 16;
const PARAM_BYTES = 96;

/** The normalization table as a storage buffer; one per context. */
export function createNormalizeLut(ctx: GpuContext): GPUBuffer {
  return ctx.buffers.upload('preprocess.lut', normalizeTable());
}

/** Pipelines to compile ahead of the first image (PipelineCache.warm). */
export const PREPROCESS_KERNELS: readonly Kernel[] = [HORIZONTAL, VERTICAL];

/** What one image's preprocessing created; destroyed once its work has completed. */
class Temporaries {
  readonly buffers: GPUBuffer[] = [];
  readonly textures: GPUTexture[] = [];
  constructor(private readonly ctx: GpuContext) {}
  release(): void {
    for (const b of this.buffers) this.ctx.buffers.destroy(b);
    for (const t of this.textures) t.destroy();
  }
}

/** Stored pixel bytes in a storage buffer: [buffer, bytes per row, bytes per pixel, orientation]. */
function pixelBuffer(ctx: GpuContext, encoder: GPUCommandEncoder, src: PixelSource, temps: Temporaries): [GPUBuffer, number, number, ExifOrientation] {
  const { device } = ctx;
  if (src.kind === 'bytes') {
    const rowBytes = src.rowBytes ?? src.width * src.channels;
    const bytes = src.data.subarray(0, rowBytes * (src.height - 1) + src.width * src.channels);
    checkBindingSize(ctx, bytes.byteLength, `a ${src.width}x${src.height} image`, 'pass a smaller image');
    // writeBuffer needs a multiple of 4 bytes.
    const padded = bytes.byteLength % 4 === 0 ? bytes : copyPadded(bytes);
    const buffer = ctx.buffers.create('preprocess.pixels', padded.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    temps.buffers.push(buffer);
    device.queue.writeBuffer(buffer, 0, padded.buffer, padded.byteOffset, padded.byteLength);
    return [buffer, rowBytes, src.channels, src.orientation ?? 1];
  }
  const max = device.limits.maxTextureDimension2D;
  if (src.width > max || src.height > max) {
    throw new LimitExceededError('maxTextureDimension2D', Math.max(src.width, src.height), max, 'the image is too large to copy to a texture; draw it smaller first');
  }
  const rowBytes = Math.ceil((src.width * 4) / 256) * 256; // copyTextureToBuffer's row alignment
  checkBindingSize(ctx, rowBytes * src.height, `a ${src.width}x${src.height} image`, 'pass a smaller image');
  const texture = device.createTexture({
    label: 'preprocess.source', size: [src.width, src.height], format: 'rgba8unorm',
    usage: GPUTextureUsage.COPY_DST | GPUTextureUsage.COPY_SRC | GPUTextureUsage.RENDER_ATTACHMENT,
  });
  temps.textures.push(texture);
  // Unpremultiplied, as decoded: PIL's convert('RGB') drops alpha without compositing.
  try {
    device.queue.copyExternalImageToTexture({ source: src.source }, { texture, premultipliedAlpha: false }, [src.width, src.height]);
  } catch (e) {
    // SecurityError for a cross-origin image without CORS, OperationError for a source the browser cannot copy.
    throw new InputError('image', `its pixels cannot be copied to the GPU (${(e as Error).name}: ${(e as Error).message}); ` +
      'a cross-origin image needs crossOrigin="anonymous" and CORS headers, or pass an ImageBitmap or a Blob');
  }
  const buffer = ctx.buffers.create('preprocess.pixels', rowBytes * src.height, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  temps.buffers.push(buffer);
  encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow: rowBytes }, [src.width, src.height]);
  return [buffer, rowBytes, 4, 1];
}

function copyPadded(bytes: Uint8Array | Uint8ClampedArray): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  out.set(bytes);
  return out;
}

function packParams(g: PreprocessGeometry, rowBytes: number, channels: number, rows: { first: number; rows: number },
  hStride: number, vOffset: number, vStride: number, outBase: number): ArrayBuffer {
  const buf = new ArrayBuffer(PARAM_BYTES);
  const f = new Float32Array(buf), u = new Uint32Array(buf);
  f.set(g.orientPixels, 0);
  f.set(g.cropPixels, 6);
  u.set([rowBytes, channels, g.size, rows.first, rows.rows, hStride, vOffset, vStride, outBase], 12);
  return buf;
}

/**
 * Records the preprocessing of one image into `encoder` (the pixel upload goes
 * straight to the queue, so it lands before the encoder is submitted). Returns
 * a function that frees the temporaries: call it once the submitted work has
 * completed (a destroyed buffer or texture must not be in a later submit).
 */
export function encodePreprocess(ctx: GpuContext, encoder: GPUCommandEncoder, src: PixelSource, target: PreprocessTarget): () => void {
  const temps = new Temporaries(ctx);
  try {
    encodeInto(ctx, encoder, src, target, temps);
  } catch (e) {
    temps.release();
    throw e;
  }
  return () => temps.release();
}

function encodeInto(ctx: GpuContext, encoder: GPUCommandEncoder, src: PixelSource, target: PreprocessTarget, temps: Temporaries): void {
  const [pixels, rowBytes, channels, orientation] = pixelBuffer(ctx, encoder, src, temps);
  const g = preprocessGeometry(src.width, src.height, orientation, target.size);
  const horizontal = axisTable(g.oriented[0], g.resized[0]);
  const vertical = axisTable(g.oriented[1], g.resized[1]);
  const rows = rowsRead(vertical, g.crop[1], g.size);
  const taps = new Int32Array(horizontal.data.length + vertical.data.length);
  taps.set(horizontal.data, 0);
  taps.set(vertical.data, horizontal.data.length);
  const s = target.size;
  checkBindingSize(ctx, rows.rows * s * 4, 'the resize intermediate', 'pass a smaller image');
  const tapBuffer = ctx.buffers.upload('preprocess.taps', taps);
  const mid = ctx.buffers.create('preprocess.mid', rows.rows * s * 4, GPUBufferUsage.STORAGE);
  const params = packParams(g, rowBytes, channels, rows, horizontal.stride, horizontal.data.length, vertical.stride, target.slot * 3 * s * s);
  temps.buffers.push(tapBuffer, mid);

  const dispatches: Dispatch[] = [];
  const add = (d: Dispatch) => { dispatches.push(d); temps.buffers.push(...d.owned); };
  add(makeDispatch(ctx, HORIZONTAL, params, { src: pixels, taps: tapBuffer, mid },
    [Math.ceil(s / WORKGROUP), Math.ceil(rows.rows / WORKGROUP)], 'preprocess:horizontal'));
  add(makeDispatch(ctx, VERTICAL, params, { taps: tapBuffer, mid, lut: target.lut, image: target.image },
    [Math.ceil(s / WORKGROUP), Math.ceil(s / WORKGROUP)], 'preprocess:vertical'));
  const pass = encoder.beginComputePass({ label: 'preprocess' });
  encodeDispatches(pass, dispatches);
  pass.end();
}
