"""A servable loader for in-process registry tests: instant loads, some held until released, some failing."""
import threading

from iriscourse.model_server import errors


class FakeServable(object):
    """Stands in for a loaded Servable: it only knows its version."""

    def __init__(self, version):
        self.version = version

    def close(self):
        """Nothing to release."""


class FakeLoader(object):
    """Loads instantly (versions in ``hold`` once ``release`` is set, those in ``fail`` with an error); records loads."""

    def __init__(self, hold=(), fail=()):
        self.hold, self.fail = set(hold), set(fail)
        self.release = threading.Event()
        self.loaded = []

    def __call__(self, name, version, path):
        """Load (name, version) as the registry's load_servable callable."""
        if version in self.hold:
            self.release.wait(30)
        self.loaded.append((name, version))
        if version in self.fail:
            raise errors.ServingError(errors.DATA_LOSS, "broken version %d" % version)
        return FakeServable(version)
