"""The one exception type every capability derives its own from.

Its text is meant for the person in the channel: it says what went wrong and,
where possible, what to do. The dispatcher shows it as is; any other exception
is a bug, logged with its traceback and reported as an internal error.
"""


class GntbotError(Exception):
    """A failure the user can understand and act on."""
