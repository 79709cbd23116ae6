// Shared start-up for the MicroPython WebAssembly runtime used by the tests.
import fs from "node:fs";
import path from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

// Start MicroPython with the *.py and *.mpy files of each dir copied into its
// in-memory filesystem (it cannot mount the host) and put on sys.path.
export async function startMicroPython({ paths = [], heapsize = 4 * 1024 * 1024 } = {}) {
  const mp = await loadMicroPython({
    heapsize,
    linebuffer: true,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
  });
  const mpPaths = [];
  paths.forEach((dir, i) => {
    const target = `/mnt${i}`;
    mp.FS.mkdir(target);
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith(".py") || name.endsWith(".mpy")) mp.FS.writeFile(`${target}/${name}`, fs.readFileSync(path.join(dir, name)));
    }
    mpPaths.push(target);
  });
  mp.globals.set("_tl_paths", mpPaths);
  mp.runPython("import sys\nfor _p in reversed(list(_tl_paths)):\n    sys.path.insert(0, _p)\n");
  return mp;
}

// Parse leading "--path DIR" / "--heap BYTES" options; returns {paths, heapsize, rest}.
export function parseOptions(argv) {
  const args = [...argv];
  const paths = [];
  let heapsize = 4 * 1024 * 1024;
  while (args.length && args[0].startsWith("--")) {
    const flag = args.shift();
    if (flag === "--path") paths.push(args.shift());
    else if (flag === "--heap") heapsize = parseInt(args.shift(), 10);
    else throw new Error(`unknown option ${flag}`);
  }
  return { paths, heapsize, rest: args };
}
