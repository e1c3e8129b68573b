"""Transport-agnostic heart of the bot: messages in, replies out.

Nothing here imports a transport or a capability; transports feed `Message`s to
`Dispatcher.handle`, capabilities are reached only through registered commands.
"""
