// Real MicroPython (the npm WebAssembly port) standing in for a board on a
// serial line: every byte read from file descriptor FD goes to the runtime's
// REPL one character at a time, and everything the REPL prints goes back.
//
//   node tests/mp/serial_board.mjs FD
//
// tests/test_deploy.py passes the master side of an os.openpty() pair as FD;
// pyserial and mpremote open the slave path as if it were /dev/ttyUSB0.
//
// What a board does that the runtime does not, emulated here (the edges, not
// the logic under test):
// - a soft reset (Ctrl-D on an empty line) starts a fresh interpreter, keeps
//   the filesystem (a board's flash), prints "MPY: soft reboot" and comes
//   back in the REPL mode it left: the raw REPL stays raw and does not run
//   main.py; the friendly REPL runs boot.py and main.py first, as ports do.
import fs from "node:fs";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

const LINE = parseInt(process.argv[2], 10);
const encoder = new TextEncoder();
let muted = false;
let raw = false;

function send(bytes) {
  if (muted) return;
  const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(LINE, data, off, data.length - off);
    } catch (error) {
      if (error.code === "EIO") return; // nobody has the port open: the bytes are lost, as on a UART
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

async function boot(files) {
  const mp = await loadMicroPython({ heapsize: 8 * 1024 * 1024, linebuffer: false, stdout: send, stderr: send });
  for (const [name, content] of files) {
    const parts = name.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = "/" + parts.slice(0, i).join("/");
      if (!mp.FS.analyzePath(dir).exists) mp.FS.mkdir(dir);
    }
    mp.FS.writeFile(name, content);
  }
  return mp;
}

// Every file of the in-memory filesystem: the "flash" a soft reset keeps.
function snapshot(mp, dir = "/", out = []) {
  for (const name of mp.FS.readdir(dir)) {
    if (name === "." || name === "..") continue;
    const full = (dir === "/" ? "" : dir) + "/" + name;
    if (full === "/dev" || full === "/proc") continue;
    const stat = mp.FS.stat(full);
    if (mp.FS.isDir(stat.mode)) snapshot(mp, full, out);
    else if (mp.FS.isFile(stat.mode)) out.push([full, mp.FS.readFile(full)]);
  }
  return out;
}

function runIfExists(mp, name) {
  if (!mp.FS.analyzePath("/" + name).exists) return;
  mp.runPython(
    `import sys\ntry:\n    exec(open(${JSON.stringify(name)}).read(), {"__name__": "__main__"})\nexcept BaseException as e:\n    sys.print_exception(e)\n`,
  );
}

async function softReset(mp) {
  const files = snapshot(mp);
  const next = await boot(files);
  send("MPY: soft reboot\r\n");
  if (raw) {
    muted = true; // a board re-enters the raw REPL without a banner
    next.replInit();
    next.replProcessChar(1);
    muted = false;
    send("raw REPL; CTRL-B to exit\r\n>");
  } else {
    runIfExists(next, "boot.py");
    runIfExists(next, "main.py");
    next.replInit();
  }
  return next;
}

let mp = await boot([]);
mp.replInit();

const pending = [];
let busy = false;

async function drain() {
  if (busy) return;
  busy = true;
  while (pending.length) {
    const c = pending.shift();
    if (c === 1 && !raw) raw = true; // Ctrl-A: raw REPL
    else if (c === 2 && raw) raw = false; // Ctrl-B: friendly REPL
    if (mp.replProcessChar(c)) mp = await softReset(mp);
  }
  busy = false;
}

// Read the line by hand: while nobody has the port open the master reads EIO,
// which a stream would take for its end; a board keeps listening.
const chunk = Buffer.alloc(4096);
function listen() {
  fs.read(LINE, chunk, 0, chunk.length, null, (error, n) => {
    if (error && error.code !== "EIO" && error.code !== "EAGAIN") {
      process.stderr.write(`serial_board: ${error.stack || error}\n`);
      process.exit(1);
    }
    if (error || n === 0) {
      setTimeout(listen, 20);
      return;
    }
    for (const c of chunk.subarray(0, n)) pending.push(c);
    drain().catch((failure) => {
      process.stderr.write(`serial_board: ${failure.stack || failure}\n`);
      process.exit(1);
    });
    listen();
  });
}
listen();
