// Public surface of the image pipeline: bytes → RGB → official eval tensor.
export type { RgbImage } from './rgb-image.js';
export type { ExifOrientation } from './exif.js';
export { decodeImage, checkImageSize, MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS, type DecodedImage, type ImageFormat } from './decode.js';
export { applyOrientation } from './orientation.js';
export { resizeBicubic } from './resize.js';
export {
  evalTransform, resizeShorterSide, centerCrop, normalize, resizeTarget, shorterSideSize, roundHalfEven,
  IMAGENET_MEAN, IMAGENET_STD, DEFAULT_CROP_RATIO,
} from './preprocess.js';
