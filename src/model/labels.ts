// Class names for the heads we know: the 1000 ImageNet-1k classes (official
// checkpoints). Other heads get numeric labels unless the caller passes names.
import imagenetTsv from './imagenet1k_classes.tsv?raw';

let imagenet: string[] | undefined;

/** ImageNet-1k short labels in the standard index order. */
export function imagenetLabels(): string[] {
  imagenet ??= imagenetTsv.trim().split('\n').slice(1).map((line) => line.split('\t')[3]);
  return imagenet;
}

/** Labels for a head of `numClasses` outputs, when known. */
export function defaultLabels(numClasses: number): string[] | undefined {
  return numClasses === 1000 ? imagenetLabels() : undefined;
}
