"""twitchlog: the desktop companion of the one-button symptom logger."""

__version__ = "0.1.0"
