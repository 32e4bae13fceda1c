"""Assert that a lesson's error really happens: ``with expect.raises(ValueError, "not in graph"):``."""


def message(error):
    """The text a learner reads for ``error``: gRPC's code and details, else ``str(error)``."""
    details = getattr(error, "details", None)
    if callable(details) and callable(getattr(error, "code", None)):
        return "{} | {}".format(error.code(), details())
    return str(error)


class raises:
    """Context manager: the block must raise ``expected`` with ``match`` in its message, or it fails.

    Like ``pytest.raises``, for notebooks: it prints ``ErrorType: message`` of the error it caught
    (unless ``show=False``) and keeps it in ``.error``. No error at all, or a message without
    ``match``, raises ``AssertionError`` saying so; an error of another type is not caught.
    """

    def __init__(self, expected, match=None, show=True):
        self.expected, self.match, self.show = expected, match, show
        self.error = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, error, traceback):
        names = getattr(self.expected, "__name__", None) or " or ".join(e.__name__ for e in self.expected)
        if exc_type is None:
            raise AssertionError("expected {} to be raised, but the code ran without an error".format(names))
        if not issubclass(exc_type, self.expected):
            return False
        text = message(error)
        if self.match is not None and self.match not in text:
            raise AssertionError("{} was raised, but its message lacks {!r}: {}".format(
                exc_type.__name__, self.match, text)) from error
        self.error = error
        if self.show:
            print("{}: {}".format(exc_type.__name__, text))
        return True
