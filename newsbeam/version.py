"""newsbeam's version: written here only (setup.py reads this file; the package and the
command line import it)."""

__version__ = "0.1.0"
