"""A package so that this folder's conftest.py is imported as ``bdd.conftest``: as a bare ``conftest`` it
would replace tests/conftest.py in ``sys.modules`` and break the tests that ``from conftest import ...``."""
