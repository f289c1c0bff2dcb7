// Types of error-samples.js (plain JavaScript, so that the sample apps bundle it untranspiled).
export interface ErrorDescription {
  name: string;
  string: string;
  message: string;
  /** 'Error' and the package's classes that the error is an instance of. */
  instanceOf: string[];
  fields: Record<string, string | number | boolean | null>;
}
type ErrorModule = Record<string, unknown>;
export const ERROR_CLASSES: string[];
export function sampleErrors(E: ErrorModule): Record<string, Error>;
export function describeError(E: ErrorModule, e: Error): ErrorDescription;
export function describeSamples(E: ErrorModule): Record<string, ErrorDescription>;
export function renamedClasses(E: ErrorModule): string[];
