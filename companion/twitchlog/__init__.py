"""twitchlog: the desktop companion of the one-button symptom logger."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twitchlog")  # one place: pyproject.toml
except PackageNotFoundError:  # running from sources that were never installed
    __version__ = "0+unknown"
