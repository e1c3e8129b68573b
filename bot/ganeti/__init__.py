"""Ganeti clusters through their Remote API: client, typed views, capacity.

Nothing here knows about chat; a script can use it as well as the bot.
"""
