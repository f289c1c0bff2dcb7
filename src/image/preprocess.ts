// The official eval transform (hustvl/Vim `vim/datasets.py::build_transform`,
// is_train=False) on a decoded RGB image:
//   Resize(int(size / crop_ratio), BICUBIC) → CenterCrop(size) → ToTensor →
//   Normalize(IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
// reproduced operation by operation so the float32 tensor matches torchvision
// bit for bit (docs/preprocessing.md).
//
// Not mirrored: build_transform skips Resize and CenterCrop entirely when
// input_size <= 32 (`resize_im`); no Vim model runs at such sizes, and this
// function always returns a size×size tensor.
import { createRgbImage, type RgbImage } from './rgb-image.js';
import { resizeBicubic } from './resize.js';

/** timm IMAGENET_DEFAULT_MEAN / _STD, RGB order. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];
/** `--eval-crop-ratio` default in the official repo. */
export const DEFAULT_CROP_RATIO = 0.875;

/** Python's round() on a float: ties go to the even integer (58.5 → 58). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const frac = x - f;
  if (frac > 0.5) return f + 1;
  if (frac < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Shorter side the image is resized to before cropping: Python int(size / ratio). */
export function resizeTarget(size: number, cropRatio = DEFAULT_CROP_RATIO): number {
  return Math.trunc(size / cropRatio);
}

/** Output (width, height) of torchvision Resize(int) for a width×height image. */
export function shorterSideSize(width: number, height: number, shorter: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  // torchvision: int(size * long / short), evaluated as a float64 product then quotient.
  const newLong = Math.trunc((shorter * long) / short);
  return width <= height ? [shorter, newLong] : [newLong, shorter];
}

/** torchvision Resize(shorter) on a PIL image: no-op when the size already matches. */
export function resizeShorterSide(img: RgbImage, shorter: number): RgbImage {
  const [w, h] = shorterSideSize(img.width, img.height, shorter);
  if (w === img.width && h === img.height) return img;
  return resizeBicubic(img, w, h);
}

/**
 * torchvision CenterCrop(size): offsets round((dim − size) / 2) half to even;
 * a crop larger than the image is zero-padded first (left/top get the floor
 * half of the padding), as torchvision's center_crop does.
 */
export function centerCrop(img: RgbImage, size: number): RgbImage {
  const offset = (dim: number) => (size > dim ? -Math.floor((size - dim) / 2) : roundHalfEven((dim - size) / 2));
  const left = offset(img.width), top = offset(img.height);
  const out = createRgbImage(size, size);
  for (let y = 0; y < size; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    // Columns [x0, x1) of the output come from the image; the rest stay 0.
    const x0 = Math.max(0, -left), x1 = Math.min(size, img.width - left);
    if (x1 <= x0) continue;
    const src = (sy * img.width + x0 + left) * 3;
    out.data.set(img.data.subarray(src, src + (x1 - x0) * 3), (y * size + x0) * 3);
  }
  return out;
}

/**
 * ToTensor + Normalize → CHW float32. Each step is one float32 operation in
 * torch (uint8→float, /255, −mean, /std with mean and std as float32
 * tensors), so each is rounded to float32 here too.
 */
export function normalize(img: RgbImage, mean: readonly number[] = IMAGENET_MEAN, std: readonly number[] = IMAGENET_STD): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]), s = Math.fround(std[c]);
    // 256 possible inputs per channel: tabulate once.
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
    for (let i = 0; i < plane; i++) out[c * plane + i] = table[img.data[i * 3 + c]];
  }
  return out;
}

/** The whole eval transform: a (3, size, size) float32 tensor, CHW. */
export function evalTransform(img: RgbImage, size: number, cropRatio = DEFAULT_CROP_RATIO): Float32Array {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`input size must be a positive integer, got ${size}`);
  if (!(cropRatio > 0)) throw new RangeError(`crop ratio must be positive, got ${cropRatio}`);
  const resized = resizeShorterSide(img, resizeTarget(size, cropRatio));
  return normalize(centerCrop(resized, size));
}
