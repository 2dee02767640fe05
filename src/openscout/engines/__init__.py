"""Engines: the one seam between openscout and every model (see base.py)."""
