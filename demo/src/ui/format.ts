// Number formatting for the panels: short, fixed-width where possible (tabular figures).

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  const gb = n / 1024 ** 3;
  return `${Number.isInteger(Math.round(gb * 100) / 100) ? gb.toFixed(0) : gb.toFixed(2)} GB`;
}

export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatPercent(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

/** "SwiftShader Device (Subzero) (software)" / "nvidia ampere": the adapter in a few words. */
export function formatAdapter(a: { vendor: string; architecture: string; device: string; description: string; isFallback: boolean }): string {
  const name = a.description.trim() || [a.vendor, a.architecture].filter(Boolean).join(' ') || a.device || 'unknown adapter';
  return a.isFallback ? `${name} (software)` : name;
}
