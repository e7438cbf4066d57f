"""The one exception type users see: a single line saying what is wrong and how to fix it."""


class ImukinError(ValueError):
    """Bad input or an impossible request.

    The command line prints ``imukin: error: <message>`` and exits with status 2,
    without a traceback. Messages are one line: what is wrong, then how to fix it.
    """
