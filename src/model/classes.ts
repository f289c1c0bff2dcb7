// What each output of a head means. Official checkpoints have the 1000
// ImageNet-1k classes; our own files name their classes in the safetensors
// metadata ('classes': [{head_index, wnid, imagenet_index, name}]).
import { IMAGENET1K_TSV } from './imagenet1k-classes.js';

export interface ClassInfo {
  /** Row of the head. */
  index: number;
  name: string;
  /** WordNet id, e.g. n01440764, when known. */
  wnid?: string;
  /** Index in ImageNet-1k, when the class is one of those. */
  imagenetIndex?: number;
}

let imagenet: ClassInfo[] | undefined;

export function imagenetClasses(): ClassInfo[] {
  imagenet ??= IMAGENET1K_TSV.trim().split('\n').slice(1).map((line) => {
    const [index, wnid, , label] = line.split('\t');
    return { index: Number(index), wnid, imagenetIndex: Number(index), name: label };
  });
  return imagenet;
}

/** Classes from file metadata (our format), else ImageNet for 1000-way heads, else undefined. */
export function classesFor(numClasses: number, metadata: Record<string, string> = {}): ClassInfo[] | undefined {
  if (metadata.classes) {
    let parsed: unknown;
    try { parsed = JSON.parse(metadata.classes); } catch { parsed = undefined; }
    if (Array.isArray(parsed) && parsed.length === numClasses) {
      return parsed.map((c: Record<string, unknown>, i) => ({
        index: typeof c.head_index === 'number' ? c.head_index : i,
        name: typeof c.name === 'string' ? c.name : `class ${i}`,
        wnid: typeof c.wnid === 'string' ? c.wnid : undefined,
        imagenetIndex: typeof c.imagenet_index === 'number' ? c.imagenet_index : undefined,
      }));
    }
  }
  return numClasses === 1000 ? imagenetClasses() : undefined;
}

/** The input size recorded in file metadata ('arch' JSON with img_size), if any. */
export function metadataImageSize(metadata: Record<string, string> = {}): number | undefined {
  try {
    const size = JSON.parse(metadata.arch ?? metadata.config ?? '{}').img_size;
    return Number.isInteger(size) && size > 0 ? size : undefined;
  } catch {
    return undefined;
  }
}
