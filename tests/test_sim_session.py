"""The `sim` fixture's teardown: it closes every rig and checks the firmware, even after a failed assertion.

A nested pytest run (pytester) uses the real fixture with a stand-in device,
so no firmware needs to boot: the stand-in logs its stop() to a file and may
carry a crash, as VirtualDevice.crashes would.
"""

from __future__ import annotations

NESTED_TESTS = """
class StandInDevice:
    def __init__(self, name, crashes=()):
        self.name = name
        self.crashes = list(crashes)
        self.irq_errors = []

    async def stop(self):
        with open("stopped.log", "a") as log:
            log.write(self.name + "\\n")


def test_assertion_fails_device_healthy(sim):
    async def body():
        sim.device(StandInDevice("failed-healthy"))
        assert False, "the test body fails"

    sim.run(body())


def test_assertion_fails_firmware_crashed(sim):
    async def body():
        sim.device(StandInDevice("failed-crashed", crashes=["Traceback: ZeroDivisionError"]))
        assert False, "the test body fails"

    sim.run(body())


def test_body_passes_firmware_crashed(sim):
    async def body():
        sim.device(StandInDevice("passed-crashed", crashes=["Traceback: MemoryError"]))

    sim.run(body())


def test_body_passes_device_healthy(sim):
    async def body():
        sim.device(StandInDevice("passed-healthy"))

    sim.run(body())
"""


def test_teardown_stops_devices_and_checks_the_firmware_even_when_the_test_fails(pytester):
    pytester.makeconftest('pytest_plugins = ["support.fixtures"]')
    pytester.makepyfile(test_nested=NESTED_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, failed=2, errors=2)
    stopped = (pytester.path / "stopped.log").read_text().split()
    assert sorted(stopped) == sorted(["failed-healthy", "failed-crashed", "passed-crashed", "passed-healthy"])
    # Both crashes fail their test at teardown, including the one whose body had already failed.
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_assertion_fails_firmware_crashed*",
            "*FirmwareCrashed: the firmware on the virtual device failed:",
            "*crash: Traceback: ZeroDivisionError*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_body_passes_firmware_crashed*", "*MemoryError*"])
