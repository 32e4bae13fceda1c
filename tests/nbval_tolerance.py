"""Let nbval accept float round-off that differs between CPUs, and nothing else.

TensorFlow 1.13's Eigen kernels most likely choose their blocking from the CPU's cache sizes: the same
training run gives losses and weights that differ in the last float32 digits on another CPU model (seen between
the machine that wrote the committed outputs and an AMD EPYC: ``0.097858116`` against ``0.09785813``).
An output that differs from the stored one passes only when, number by number, it is within round-off:
the same text around the numbers (whitespace aside, since numpy realigns columns), integers identical,
and every other number within ``RELATIVE`` of the stored one, or within one unit of its last printed digit.
"""
import copy
import re

from nbval.plugin import IPyNbCell

NUMBER = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)")
RELATIVE = 1e-4
ABSOLUTE = 1e-6


def _last_digit(token):
    """One unit of the last digit printed in ``token`` (0 for an integer)."""
    mantissa, _, exponent = token.lower().partition("e")
    if "." not in mantissa:
        return 0.0
    decimals = len(mantissa.split(".")[1])
    return 10.0 ** (int(exponent or 0) - decimals)


def _is_float(token):
    return "." in token or "e" in token.lower()


def within_round_off(stored, fresh):
    """True when ``fresh`` reads as ``stored`` up to float round-off (see the module's docstring)."""
    a, b = NUMBER.split(stored), NUMBER.split(fresh)
    if len(a) != len(b):
        return False
    for i, (x, y) in enumerate(zip(a, b)):
        if i % 2 == 0:  # text between numbers
            if "".join(x.split()) != "".join(y.split()):
                return False
        elif not (_is_float(x) and _is_float(y)):
            if x != y:  # integers: step counts, class ids, shapes
                return False
        else:
            u, v = float(x), float(y)
            allowed = max(ABSOLUTE, RELATIVE * max(abs(u), abs(v)), _last_digit(x), _last_digit(y))
            if abs(u - v) > allowed * (1 + 1e-9):  # the subtraction itself rounds
                return False
    return True


def _aligned(item, fresh, stored):
    """A copy of the output ``fresh`` whose texts equal to ``stored``'s up to round-off are ``stored``'s."""
    if fresh.get("output_type") != stored.get("output_type") or fresh.get("name") != stored.get("name"):
        return fresh
    fresh = copy.deepcopy(fresh)
    if isinstance(fresh.get("text"), str) and isinstance(stored.get("text"), str):
        if within_round_off(item.sanitize(stored["text"]), item.sanitize(fresh["text"])):
            fresh["text"] = stored["text"]
    if isinstance(fresh.get("data"), dict) and isinstance(stored.get("data"), dict):
        for key, value in fresh["data"].items():
            old = stored["data"].get(key)
            if key.startswith("text/") and isinstance(value, str) and isinstance(old, str) and \
                    within_round_off(item.sanitize(old), item.sanitize(value)):
                fresh["data"][key] = old
    return fresh


def install():
    """Wrap nbval's output comparison so that round-off differences are aligned before it compares."""
    original = IPyNbCell.compare_outputs
    if getattr(original, "round_off_aware", False):
        return

    def compare_outputs(self, test, ref, skip_compare=None):
        test = [_aligned(self, t, r) for t, r in zip(test, ref)] + list(test[len(ref):])
        return original(self, test, ref, skip_compare)

    compare_outputs.round_off_aware = True
    IPyNbCell.compare_outputs = compare_outputs


def pytest_configure(config):
    """As a pytest plugin (``-p nbval_tolerance``, or the root conftest.py): install the tolerance."""
    install()
