"""MicroPython-side test runner: runs every test_* function of the named modules.

Usage: node tests/mp/run.mjs --path firmware --path tests/portable \
           tests/portable/runtests.py test_protocol_core ...
Exits with the number of failures (capped at 100) so the node wrapper can
turn it into a process exit code.
"""

import sys


def main(names):
    failures = 0
    ran = 0
    for name in names:
        module = __import__(name)
        for attr in sorted(dir(module)):
            if not attr.startswith("test_"):
                continue
            fn = getattr(module, attr)
            ran += 1
            try:
                fn()
            except Exception as e:  # report every failure, keep going
                failures += 1
                print("FAIL %s.%s" % (name, attr))
                sys.print_exception(e)  # type: ignore[attr-defined]
            else:
                print("PASS %s.%s" % (name, attr))
    print("%d passed, %d failed" % (ran - failures, failures))
    if ran == 0:
        sys.exit(99)
    sys.exit(min(failures, 100))


# run.mjs passes the arguments as ARGV: sys.argv cannot be set in that build.
main(globals().get("ARGV", sys.argv)[1:])
