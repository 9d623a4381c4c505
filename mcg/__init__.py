"""MCG: Multiscale Combinatorial Grouping in Python.

Public API (filled in stage by stage): contours, ultrametric contour maps (hierarchies) and
ranked object proposals for an RGB image. The lower layers (``contours``, ``ncuts``,
``grouping``, ``eval``) are usable on their own and never import this package.
"""

__version__ = "0.1.0"
