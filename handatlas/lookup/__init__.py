"""Spatial queries over an atlas: territories now; pressure queries build on the same indexes.

No pyvista and no panel here: plain functions over arrays, with indexes cached per atlas.
"""
