"""End-to-end tests of the web app in Debian's chromium (a package so that its conftest does not
shadow tests/conftest.py, which other test modules import as ``conftest``)."""
