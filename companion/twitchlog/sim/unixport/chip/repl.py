"""The chip's REPL on its USB serial line, as the ESP32 port's pyexec runs it.

MicroPython's unix port has its own line-editing REPL on stdin and no raw
REPL, which mpremote needs; the ESP32 runs shared/runtime/pyexec.c.  This
module is that REPL for the virtual chip, kept to the behaviour mpremote and
a person at `mpremote repl` rely on:

- the serial line: bytes from the host arrive through virtual_chip (the
  driver's "usb HEX" lines) into `rx`, the UART's receive FIFO; what the
  chip prints goes to stdout, which the driver carries to the pty;
- Ctrl-C while code runs is a KeyboardInterrupt, as the port's UART driver
  makes it: the chip asks the driver to raise SIGINT, which the unix port
  turns into MicroPython's own pending KeyboardInterrupt.  While the REPL
  waits for input, Ctrl-C is an ordinary character;
- the friendly REPL (>>> , one line at a time, Ctrl-A raw, Ctrl-D soft
  reset) and the raw REPL (Ctrl-D runs, "OK", output, EOF, error, EOF; an
  empty Ctrl-D soft-resets; Ctrl-B back to friendly; raw paste declined);
- a soft reset restarts the interpreter with the flash and RTC kept: the
  raw REPL comes back raw without main.py, the friendly REPL runs main.py,
  as ports/esp32/main.c does.
"""

import _thread
import sys

import virtual_chip as chip

time = chip.time
rx = bytearray()  # the UART receive FIFO (the host-commands thread appends)
_rx_lock = _thread.allocate_lock()
_interruptible = False
_interrupt_sent = False
_globals = {"__name__": "__main__"}
BANNER = 'MicroPython v1.25.0; twitchlog virtual ESP32 with NimBLE\r\nType "help()" for more information.\r\n'
_write = sys.stdout.write


def feed(data):
    """Bytes from the host (the commands thread).  Ctrl-C interrupts running code and is consumed."""
    global _interrupt_sent
    if _interruptible and 3 in data:
        data = bytes(b for b in data if b != 3)
        if not _interrupt_sent:  # a second SIGINT before the first is handled kills the unix port
            _interrupt_sent = True
            chip.say("sigint")
    with _rx_lock:
        rx.extend(data)


def _getc():
    while not rx:
        try:
            time.sleep_ms(2)
        except KeyboardInterrupt:
            pass  # a Ctrl-C that landed just after the code it was for had finished
    with _rx_lock:
        c = rx[0]
        rx[:] = rx[1:]
    return c


def _run(code, source_is_main=False):
    """Execute with Ctrl-C armed; True if it finished, the exception otherwise."""
    global _interruptible, _interrupt_sent
    _interrupt_sent = False
    _interruptible = True
    try:
        if source_is_main:
            import main  # noqa: F401
        else:
            exec(code, _globals)
        return None
    except (Exception, KeyboardInterrupt) as e:  # SystemExit (deep sleep, reset) ends the process
        return e
    finally:
        _interruptible = False


def run_main():
    """main.py, as the port runs it at boot; what stopped it goes to the REPL's first lines."""
    error = _run(None, source_is_main=True)
    if error is None:
        chip.say("repl", "returned")
        return
    sys.print_exception(error)  # to the serial line, as the port prints it
    if isinstance(error, KeyboardInterrupt):
        chip.say("repl", "interrupted")
    else:  # named here too: the driver reads this line apart from the serial line's traceback
        chip.say("repl", "crash", "%s: %s" % (type(error).__name__, error))


def soft_reset(raw):
    """Ctrl-D: the port prints this, then restarts MicroPython with flash and RTC kept."""
    _write("MPY: soft reboot\r\n")
    import machine

    machine._soft_reset("raw" if raw else "friendly")


def raw_repl():
    """pyexec_raw_repl: returns when Ctrl-B asks for the friendly REPL."""
    _write("raw REPL; CTRL-B to exit\r\n")
    while True:
        _write(">")
        line = bytearray()
        while True:
            c = _getc()
            if c == 1:  # Ctrl-A: raw paste request (Ctrl-E 'A' Ctrl-A) or a reset of the raw REPL
                if len(line) == 2 and line[0] == 5:
                    _write("R\x00")  # raw paste: not supported, mpremote falls back to the plain raw REPL
                    line = bytearray()
                    continue
                _write("raw REPL; CTRL-B to exit\r\n>")
                line = bytearray()
            elif c == 2:
                _write("\r\n")
                return
            elif c == 3:
                line = bytearray()
            elif c == 4:
                break
            else:
                line.append(c)
        _write("OK")
        if not line:
            _write("\r\n")
            soft_reset(raw=True)
        try:
            code = bytes(line).decode()
        except UnicodeError as e:
            code = e
        error = code if isinstance(code, Exception) else _run(code)
        _write("\x04")
        if error is not None:
            sys.print_exception(error)
        _write("\x04")


def friendly_repl():
    """pyexec_friendly_repl, one line at a time: returns when Ctrl-A asks for the raw REPL."""
    _write(BANNER)
    while True:
        _write(">>> ")
        line = ""
        while True:
            c = _getc()
            if c == 1:
                _write("\r\n")
                return
            if c == 3:
                _write("\r\n")
                line = None
                break
            if c == 4 and not line:
                _write("\r\n")
                soft_reset(raw=False)
            if c in (8, 127):
                if line:
                    line = line[:-1]
                    _write("\b \b")
            elif c == 13:
                _write("\r\n")
                break
            elif 32 <= c < 127:
                line += chr(c)
                _write(chr(c))
        if line:
            try:
                code = compile(line, "<stdin>", "single")
            except SyntaxError as e:
                sys.print_exception(e)
                continue
            error = _run(code)
            if error is not None:
                sys.print_exception(error)


def loop(raw):
    while True:
        try:
            if raw:
                raw_repl()
            else:
                friendly_repl()
            raw = not raw
        except KeyboardInterrupt:
            pass  # a late Ctrl-C between two pieces of REPL output: stay in the same REPL
