"""Simulation: the virtual device and the demos."""
