// The one pixel container the image pipeline passes around: 8-bit RGB,
// interleaved, row-major, no padding — the layout of a Pillow "RGB" image
// after `.convert('RGB')`, which is what the official transform consumes.

export interface RgbImage {
  width: number;
  height: number;
  /** width · height · 3 bytes, R G B per pixel, rows top to bottom. */
  data: Uint8Array;
}

export function createRgbImage(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3) };
}
