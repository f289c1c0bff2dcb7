// vitest 5 declares Node >= 22.12 and calls a few built-ins that Node 20 lacks
// (its error summary uses Map.groupBy: without it a failing test crashes the
// reporter and no results are written). CI runs Node 20, so scripts/vitest.sh
// preloads this file there. Each polyfill is installed only where missing.
if (!Map.groupBy) {
  Map.groupBy = (items, key) => {
    const m = new Map();
    let i = 0;
    for (const x of items) {
      const k = key(x, i++);
      if (m.has(k)) m.get(k).push(x); else m.set(k, [x]);
    }
    return m;
  };
}
if (!Object.groupBy) {
  Object.groupBy = (items, key) => Object.fromEntries(Map.groupBy(items, key));
}
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
