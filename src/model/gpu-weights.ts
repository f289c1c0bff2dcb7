// Uploads a Vim state dict to the GPU once. The two scan directions' tensors are
// stacked [forward, backward] so one dispatch serves both (the layout every
// kernel in src/ops expects).
import type { GpuContext } from '../gpu/context.js';
import type { StateDict, HostTensor } from '../tensor.js';
import type { VimConfig } from './config.js';

export interface LayerWeights {
  norm: GPUBuffer;
  inProj: GPUBuffer;
  /** (2, E, K) */ convWeight: GPUBuffer;
  /** (2, E) */ convBias: GPUBuffer;
  /** (2, R+2N, E) */ xProj: GPUBuffer;
  /** (2, E, R) */ dtProj: GPUBuffer;
  /** (2, E) */ dtBias: GPUBuffer;
  /** (2, E, N) */ aLog: GPUBuffer;
  /** (2, E) */ d: GPUBuffer;
  outProj: GPUBuffer;
}

export interface GpuWeights {
  patchWeight: GPUBuffer;
  patchBias: GPUBuffer;
  clsToken: GPUBuffer;
  posEmbed: GPUBuffer;
  layers: LayerWeights[];
  normF: GPUBuffer;
  head: GPUBuffer;
  headBias: GPUBuffer;
  /** Every buffer above, for dispose(). */
  all: GPUBuffer[];
}

function stack(a: HostTensor, b: HostTensor): Float32Array {
  const out = new Float32Array(a.data.length + b.data.length);
  out.set(a.data, 0);
  out.set(b.data, a.data.length);
  return out;
}

export function uploadWeights(ctx: GpuContext, sd: StateDict, cfg: VimConfig, posEmbed?: Float32Array): GpuWeights {
  const all: GPUBuffer[] = [];
  const get = (name: string): HostTensor => {
    const t = sd.get(name);
    if (!t) throw new Error(`internal: tensor ${name} missing after validation`);
    return t;
  };
  const up = (label: string, data: Float32Array): GPUBuffer => {
    const b = ctx.buffers.upload(label, data);
    all.push(b);
    return b;
  };
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.depth; l++) {
    const p = (k: string) => get(`layers.${l}.${k}`);
    const m = (k: string) => p(`mixer.${k}`);
    layers.push({
      norm: up(`l${l}.norm`, p('norm.weight').data),
      inProj: up(`l${l}.in_proj`, m('in_proj.weight').data),
      convWeight: up(`l${l}.conv_w`, stack(m('conv1d.weight'), m('conv1d_b.weight'))),
      convBias: up(`l${l}.conv_b`, stack(m('conv1d.bias'), m('conv1d_b.bias'))),
      xProj: up(`l${l}.x_proj`, stack(m('x_proj.weight'), m('x_proj_b.weight'))),
      dtProj: up(`l${l}.dt_proj`, stack(m('dt_proj.weight'), m('dt_proj_b.weight'))),
      dtBias: up(`l${l}.dt_bias`, stack(m('dt_proj.bias'), m('dt_proj_b.bias'))),
      aLog: up(`l${l}.A_log`, stack(m('A_log'), m('A_b_log'))),
      d: up(`l${l}.D`, stack(m('D'), m('D_b'))),
      outProj: up(`l${l}.out_proj`, m('out_proj.weight').data),
    });
  }
  return {
    patchWeight: up('patch_embed.weight', get('patch_embed.proj.weight').data),
    patchBias: up('patch_embed.bias', get('patch_embed.proj.bias').data),
    clsToken: up('cls_token', get('cls_token').data),
    posEmbed: up('pos_embed', posEmbed ?? get('pos_embed').data),
    layers,
    normF: up('norm_f', get('norm_f.weight').data),
    head: up('head.weight', get('head.weight').data),
    headBias: up('head.bias', get('head.bias').data),
    all,
  };
}

export function destroyWeights(ctx: GpuContext, w: GpuWeights): void {
  for (const b of w.all) ctx.buffers.destroy(b);
}
