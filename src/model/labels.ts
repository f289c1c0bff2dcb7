// Short class names for the heads we know (see classes.ts for the full table).
import { classesFor, imagenetClasses } from './classes.js';

/** ImageNet-1k short labels in the standard index order. */
export function imagenetLabels(): string[] {
  return imagenetClasses().map((c) => c.name);
}

/** Labels for a head of `numClasses` outputs, when known (from metadata or ImageNet). */
export function defaultLabels(numClasses: number, metadata?: Record<string, string>): string[] | undefined {
  return classesFor(numClasses, metadata)?.map((c) => c.name);
}
