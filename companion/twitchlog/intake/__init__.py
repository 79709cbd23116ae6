"""Magnesium intake: the stored entries and saved products, and the file importers."""
