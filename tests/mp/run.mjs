// Run a Python script under real MicroPython (the npm WebAssembly port).
//
//   node tests/mp/run.mjs [--path DIR]... [--heap BYTES] SCRIPT.py [ARGS]...
//
// The package's own CLI always exits 0; this runner exits with the script's
// sys.exit() code, or 1 if an exception escaped.  This build's sys.argv
// cannot be assigned, so the script reads its arguments from ARGV.
import fs from "node:fs";
import { parseOptions, startMicroPython } from "./runtime.mjs";

let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error(`run.mjs: ${error.message}`);
  process.exit(2);
}
if (!options.rest.length) {
  console.error("usage: run.mjs [--path DIR]... [--heap BYTES] SCRIPT.py [ARGS]...");
  process.exit(2);
}
const [script, ...scriptArgs] = options.rest;
const mp = await startMicroPython(options);
mp.FS.writeFile("/main_script.py", fs.readFileSync(script));
mp.globals.set("_tl_argv", [script, ...scriptArgs]);
try {
  mp.runPython(`
import sys
_tl_exit = 0
try:
    with open("/main_script.py") as _f:
        _tl_src = _f.read()
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
