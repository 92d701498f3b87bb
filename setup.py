"""Shim so that `pip install -e .` works with older pip; all metadata is in setup.cfg."""
from setuptools import setup

setup()
