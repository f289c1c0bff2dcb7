// A DeiT case on ONNX Runtime Web's WebGPU execution provider, and the probe that
// tells which operators ORT actually ran (after its own graph fusions).
import type * as OrtModule from 'onnxruntime-web';
import { baseResult, timeRuns, withTiming, type CaseResult, type CaseSpec } from './cases.js';
import type { MemoryTracker } from './gpu-memory.js';
import { benchInput, tokensAt } from './models.js';

export type Ort = typeof OrtModule;

// ORT's default optimisation level: every fusion it has for the EP may apply.
const sessionOptions = (): OrtModule.InferenceSession.SessionOptions => ({ executionProviders: ['webgpu'], graphOptimizationLevel: 'all' });

/** Logits PyTorch computed for the benchmark input (export_deit.py's manifest). */
export interface Reference {
  logits_first8: number[];
}

export async function runDeitCase(ort: Ort, graph: Uint8Array, spec: CaseSpec, memory: MemoryTracker, reference?: Reference): Promise<CaseResult> {
  const tokens = tokensAt(spec.size);
  const input = new ort.Tensor('float32', benchInput(spec.batch, spec.size), [spec.batch, 3, spec.size, spec.size]);
  memory.reset();
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(graph, sessionOptions());
  try {
    const loadMs = performance.now() - t0;
    const loadedBytes = memory.live;
    let logits: Float32Array = new Float32Array(0);
    const timing = await timeRuns(async () => {
      const out = await session.run({ images: input });
      logits = out.logits.data as Float32Array;
    }, spec);
    const result: CaseResult = {
      ...baseResult(spec, 'deit', tokens), loadMs, loadedBytes, peakBytes: memory.peak, maxBufferBytes: memory.maxBuffer,
      logitsFinite: logits.length > 0 && logits.every(Number.isFinite),
    };
    if (reference && logits.length >= 8) {
      result.maxAbsErrVsTorch = Math.max(...reference.logits_first8.map((v, i) => Math.abs(v - logits[i])));
    }
    return withTiming(result, timing);
  } finally {
    await session.release();
  }
}

// -- which operators ORT ran --------------------------------------------------------

/** Console output captured while `recording` is on (see installConsoleTap). */
const captured: string[] = [];
let recording = false;

/** Keeps `text` if a probe is recording ORT's log; says whether it did. */
export function captureLog(text: string): boolean {
  if (recording) captured.push(text);
  return recording;
}

/**
 * ORT's WebAssembly runtime binds console.log/console.error when it loads, so a tap
 * must be installed before the first session is created to see its log. (In Node it
 * writes with fs.writeSync instead: see node/runtime.ts.)
 */
export function installConsoleTap(): void {
  for (const level of ['log', 'info', 'warn', 'error'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (!captureLog(args.map(String).join(' '))) original(...args);
    };
  }
}

export interface GraphProbe {
  /** Operator counts per execution provider after ORT's graph optimisations. */
  placements: Record<string, Record<string, number>>;
  attention: 'explicit' | 'fused' | 'unknown';
}

/**
 * Creates a session with verbose logging and reads ORT's "Node placements" report: the
 * operators of the optimised graph and the execution provider each runs on. A fused
 * attention kernel would show up as Attention / MultiHeadAttention there.
 */
export async function probeGraph(ort: Ort, graph: Uint8Array): Promise<GraphProbe> {
  const level = ort.env.logLevel;
  ort.env.logLevel = 'verbose';
  captured.length = 0;
  recording = true;
  try {
    const session = await ort.InferenceSession.create(graph, { ...sessionOptions(), logSeverityLevel: 0, logVerbosityLevel: 0 });
    await session.release();
  } finally {
    recording = false;
    ort.env.logLevel = level;
  }
  return parsePlacements(captured.join('\n'));
}

export function parsePlacements(log: string): GraphProbe {
  const placements: Record<string, Record<string, number>> = {};
  let ep: string | undefined;
  for (const line of log.split('\n')) {
    if (!line.trim()) continue; // Node's writes end in a newline of their own
    const head = /Node\(s\) placed on \[(\w+)\]/.exec(line);
    if (head) {
      ep = head[1];
      placements[ep] ??= {};
      continue;
    }
    const node = ep && /VerifyEachNodeIsAssignedToAnEp\]\s+(\w+) \(/.exec(line);
    if (node) placements[ep!][node[1]] = (placements[ep!][node[1]] ?? 0) + 1;
    else ep = undefined;
  }
  const gpuOps = Object.entries(placements).filter(([k]) => /WebGpu|Js/i.test(k)).flatMap(([, ops]) => Object.keys(ops));
  const fused = gpuOps.some((op) => /Attention/.test(op));
  const explicit = gpuOps.includes('Softmax') && gpuOps.includes('MatMul');
  return { placements, attention: fused ? 'fused' : explicit ? 'explicit' : 'unknown' };
}
