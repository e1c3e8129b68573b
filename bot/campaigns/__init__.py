"""Reboot campaigns: a day-long fleet reboot, announced in the channel as it happens.

Events come in from the reboot tooling (``gntbot announce``, ``gntbot reboot-log``,
signed and sent to the bot's intake) and from the bot itself (its cluster watcher,
and later its own drain/migrate-back actions). Each event is validated
(`events`), applied to the campaign's state (`state`), kept in the store
(`store`), and turned into a few paced lines per host (`announce`).
"""
