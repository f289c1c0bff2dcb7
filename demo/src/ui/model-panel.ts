// The model controls: which weights (bundled or the visitor's checkpoint), storage
// precision, input resolution and position-table interpolation. The panel only
// reports a new Selection; the controller loads it and, when that fails, puts the
// panel back on the selection that is actually running (set()).
import { DEFAULT_INTERPOLATION, type Dtype, type Interpolation } from '../engine.js';
import { RESOLUTIONS, type BundledModel } from '../models.js';

export interface Selection {
  source: 'bundled' | 'file';
  dtype: Dtype;
  /** Undefined: the model's own input size. */
  resolution?: number;
  interpolation: Interpolation;
}

export interface PanelElements {
  form: HTMLElement;
  bundledName: HTMLElement;
  bundledBlurb: HTMLElement;
  fileRadio: HTMLInputElement;
  fileName: HTMLElement;
  resolution: HTMLSelectElement;
  interpolation: HTMLSelectElement;
}

const NATIVE = 'native';

export class ModelPanel {
  constructor(private readonly el: PanelElements, model: BundledModel, private readonly onChange: (s: Selection) => void) {
    el.bundledName.textContent = model.name;
    el.bundledBlurb.textContent = model.blurb;
    const native = new Option('Native', NATIVE);
    el.resolution.append(native, ...RESOLUTIONS.map((r) => new Option(`${r} px`, String(r))));
    this.set({ source: 'bundled', dtype: model.defaultDtype, interpolation: DEFAULT_INTERPOLATION });
    // One listener for every control: radios and selects all bubble 'change'.
    el.form.addEventListener('change', (e) => {
      const t = e.target as HTMLElement;
      if (t.matches('input[name="source"], input[name="dtype"], #resolution, #interpolation')) this.onChange(this.get());
    });
  }

  get(): Selection {
    const radio = (name: string) => this.el.form.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`)?.value;
    const r = this.el.resolution.value;
    return {
      source: radio('source') === 'file' ? 'file' : 'bundled',
      dtype: (radio('dtype') ?? 'f32') as Dtype,
      resolution: r === NATIVE ? undefined : Number(r),
      interpolation: this.el.interpolation.value === 'corrected' ? 'corrected' : 'official',
    };
  }

  set(s: Selection): void {
    const check = (name: string, value: string) => {
      const input = this.el.form.querySelector<HTMLInputElement>(`input[name="${name}"][value="${value}"]`);
      if (input) input.checked = true;
    };
    check('source', s.source);
    check('dtype', s.dtype);
    this.el.resolution.value = s.resolution === undefined ? NATIVE : String(s.resolution);
    this.el.interpolation.value = s.interpolation;
  }

  /** A checkpoint was chosen: name it and make it selectable. */
  setCheckpoint(name: string | undefined): void {
    this.el.fileRadio.disabled = name === undefined;
    this.el.fileName.textContent = name ?? 'none chosen yet';
    this.el.fileName.title = name ?? '';
  }

  /** Names the model's own size once it is known ("64 px (native)"). */
  setNativeSize(px: number | undefined): void {
    this.el.resolution.options[0].text = px ? `${px} px (native)` : 'Native';
  }
}
