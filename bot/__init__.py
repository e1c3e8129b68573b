"""gntbot: a ChatOps bot for teams that run Ganeti clusters."""

__version__ = "0.1.0"
