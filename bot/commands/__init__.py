"""The chat face of each capability: parse arguments, call, format a short reply.

Each module has a ``register(registry, ...)`` function that declares its commands.
"""
