"""Backends behind small protocols (base.py); only factory.py imports the concrete ones."""
