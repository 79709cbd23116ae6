"""The statistics: the count model, randomization test, sufficiency, trial design, simulation.

Pure: no store, no BLE, no terminal.
"""
