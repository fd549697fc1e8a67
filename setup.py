"""Build configuration for the optional C accelerator; pyproject.toml holds the metadata.

``optional=True``: where the extension cannot be compiled (no compiler, no Python
headers) the install still succeeds and driver.bson uses its pure-Python codec.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("driver.bson._cbson", ["driver/bson/_cbson.c"], optional=True),
    ],
)
