// The models the demo offers. The bundled default is ONE constant (DEFAULT_MODEL):
// the Vim-Ti trained on Imagenette (weights/README.md).
//
// URLs are built with `new URL(path, import.meta.url)`: the dev server resolves them
// against this module's URL (it serves the repo root), and `vite build` copies the
// files into dist-demo/assets with a relative URL, so the static build carries
// its own weights and works from any folder of any static host.
import type { Dtype } from './engine.js';

export interface BundledModel {
  id: string;
  /** Shown in the model panel. */
  name: string;
  /** One line under the name: what it was trained on, its size. */
  blurb: string;
  /**
   * Weight files by storage precision. A model may ship one file only; the engine
   * then converts to the requested dtype while loading.
   */
  files: Partial<Record<Dtype, string>>;
  /** Precision selected when the page opens. */
  defaultDtype: Dtype;
  /** Class names in head order; undefined lets the engine choose (ImageNet for 1000 classes). */
  labels?: string[];
}

/**
 * The 2-layer, 32-wide fixture from the reference tests (64 px, 10 classes). Its
 * weights are synthetic, so its classes mean nothing: "class 0" … "class 9".
 */
export const TINY_FIXTURE: BundledModel = {
  id: 'tiny-fixture',
  name: 'Vim tiny (test fixture)',
  blurb: '2 layers · 64 px · synthetic weights, 10 meaningless classes',
  files: { f32: new URL('../../test/fixtures/vim/tiny.pth', import.meta.url).href },
  defaultDtype: 'f32',
  labels: Array.from({ length: 10 }, (_, i) => `class ${i}`),
};

export const IMAGENETTE_LABELS = [
  'tench', 'English springer', 'cassette player', 'chain saw', 'church',
  'French horn', 'garbage truck', 'gas pump', 'golf ball', 'parachute',
];

/**
 * The Vim-Ti trained on Imagenette by tools/train (weights/README.md): int8 and f16
 * files are shipped; "f32" loads the f16 file widened to float32 (the f32 source
 * checkpoint is not shipped, to keep the repository small).
 */
export const VIM_TI_IMAGENETTE: BundledModel = {
  id: 'vim-ti-imagenette',
  name: 'Vim-Ti · Imagenette',
  blurb: '24 layers · 7 M parameters · 128 px · 10 Imagenette classes',
  files: {
    int8: new URL('../../weights/vim-ti-imagenette.int8.safetensors', import.meta.url).href,
    f16: new URL('../../weights/vim-ti-imagenette.f16.safetensors', import.meta.url).href,
  },
  defaultDtype: 'int8',
  labels: IMAGENETTE_LABELS,
};

/** The model the page loads first. */
export const DEFAULT_MODEL: BundledModel = VIM_TI_IMAGENETTE;

/** Resolutions offered beside the model's own (multiples of the 16 px patch). */
export const RESOLUTIONS = [224, 256, 288, 320, 384, 448, 512, 640, 768, 896, 1024, 1248] as const;

/** The weight URL for a dtype: the file of that precision, else any file (converted on load). */
export function weightUrl(model: BundledModel, dtype: Dtype): { url: string; converted: boolean } {
  const exact = model.files[dtype];
  if (exact) return { url: exact, converted: false };
  const order: Dtype[] = ['f32', 'f16', 'int8'];
  const any = order.map((d) => model.files[d]).find((u): u is string => u !== undefined);
  if (!any) throw new Error(`${model.name}: no weight file is bundled yet`);
  return { url: any, converted: true };
}
