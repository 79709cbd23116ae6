// Peak live heap of a step-wise MicroPython workload.
//
//   node tests/mp/heap.mjs [--path DIR]... MODULE N...
//
// MODULE (importable from a --path dir) defines setup(n) and step(), where
// step() does one unit of work (one notification's worth) and returns 0 when
// done.  In this WebAssembly port gc.collect() frees nothing while a
// runPython call is still running (the wasm stack cannot be scanned), so the
// driver returns to JS after every step and samples gc.mem_alloc() after a
// collection at the start of the next call: that is the live heap between
// notifications, as on the device.  Prints one JSON object per N.
import { parseOptions, startMicroPython } from "./runtime.mjs";

const { paths, heapsize, rest } = parseOptions(process.argv.slice(2));
const [moduleName, ...sizes] = rest;
const mp = await startMicroPython({ paths, heapsize });
const liveHeap = () => {
  mp.runPython("import gc\ngc.collect()\n_h = gc.mem_alloc()");
  return mp.globals.get("_h");
};
const interpreter = liveHeap();
mp.runPython(`import ${moduleName} as _w`);
const modules = liveHeap() - interpreter;
for (const n of sizes) {
  mp.runPython(`_w.setup(${parseInt(n, 10)})`);
  const base = liveHeap();
  let peak = base;
  let steps = 0;
  let churn = 0;
  for (;;) {
    mp.runPython("_before = gc.mem_alloc()\n_more = _w.step()\n_churn = gc.mem_alloc() - _before");
    churn = Math.max(churn, mp.globals.get("_churn"));
    steps += 1;
    peak = Math.max(peak, liveHeap());
    if (!mp.globals.get("_more")) break;
  }
  mp.runPython("_served = _w.served()");
  console.log(
    JSON.stringify({
      n: parseInt(n, 10),
      interpreter, // live heap of the bare runtime
      modules, // + the firmware modules' code and globals
      base, // + the opened log, before serving
      peak, // largest live heap between notifications while serving
      steps,
      served: mp.globals.get("_served"),
      max_step_alloc: churn, // bytes allocated within one notification step
    }),
  );
}
