// Run a Python script under real MicroPython (the npm WebAssembly port).
//
//   node tests/mp/run.mjs [--path DIR]... [--heap BYTES] SCRIPT.py [ARGS]...
//
// Each --path DIR has its *.py files copied into the runtime's in-memory
// filesystem and put on sys.path (the runtime cannot mount the host).  The
// package's own CLI always exits 0; this runner exits with the script's
// sys.exit() code, or 1 if an exception escaped.
import fs from "node:fs";
import path from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

const argv = process.argv.slice(2);
const paths = [];
let heapsize = 4 * 1024 * 1024;
while (argv.length && argv[0].startsWith("--")) {
  const flag = argv.shift();
  if (flag === "--path") paths.push(argv.shift());
  else if (flag === "--heap") heapsize = parseInt(argv.shift(), 10);
  else {
    console.error(`run.mjs: unknown option ${flag}`);
    process.exit(2);
  }
}
if (!argv.length) {
  console.error("usage: run.mjs [--path DIR]... [--heap BYTES] SCRIPT.py [ARGS]...");
  process.exit(2);
}
const [script, ...scriptArgs] = argv;

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
    if (name.endsWith(".py")) mp.FS.writeFile(`${target}/${name}`, fs.readFileSync(path.join(dir, name)));
  }
  mpPaths.push(target);
});
mp.FS.writeFile("/main_script.py", fs.readFileSync(script));

mp.globals.set("_tl_argv", [script, ...scriptArgs]);
mp.globals.set("_tl_paths", mpPaths);
try {
  mp.runPython(`
import sys
for _p in reversed(list(_tl_paths)):
    sys.path.insert(0, _p)
_tl_exit = 0
try:
    with open("/main_script.py") as _f:
        _tl_src = _f.read()
    # This build's sys.argv cannot be assigned: scripts read ARGV instead.
    exec(_tl_src, {"__name__": "__main__", "ARGV": list(_tl_argv)})
except SystemExit as e:
    _code = e.args[0] if e.args else 0
    _tl_exit = 0 if _code is None else (_code if isinstance(_code, int) else 1)
except BaseException as e:
    sys.print_exception(e)
    _tl_exit = 1
`);
} catch (error) {
  console.error(String(error && error.message ? error.message : error));
  process.exit(1);
}
process.exit(mp.globals.get("_tl_exit"));
