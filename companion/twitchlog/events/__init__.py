"""Symptom events entered by hand: the CSV importer."""
