"""expect.raises: passes only when the expected error comes, with the expected message."""
import pytest

from iriscourse import expect


class FakeRpcError(Exception):
    def code(self):
        return "StatusCode.NOT_FOUND"

    def details(self):
        return "Servable not found"


def test_an_expected_error_with_its_message_is_caught_printed_and_kept(capsys):
    with expect.raises(ValueError, "not in graph") as caught:
        raise ValueError("x is not in graph")
    assert isinstance(caught.error, ValueError)
    assert capsys.readouterr().out == "ValueError: x is not in graph\n"


def test_no_error_at_all_fails_the_check():
    with pytest.raises(AssertionError, match="expected KeyError to be raised, but the code ran without an error"):
        with expect.raises(KeyError):
            pass


def test_a_message_without_the_expected_text_fails_the_check():
    with pytest.raises(AssertionError, match="its message lacks 'feed'"):
        with expect.raises(ValueError, "feed"):
            raise ValueError("something else")


def test_an_error_of_another_type_is_not_swallowed():
    with pytest.raises(TypeError):
        with expect.raises(ValueError):
            raise TypeError("wrong kind")


def test_a_tuple_of_types_is_named_in_the_failure():
    with pytest.raises(AssertionError, match="expected OSError or KeyError"):
        with expect.raises((OSError, KeyError)):
            pass


def test_grpc_errors_read_as_code_and_details(capsys):
    with expect.raises(FakeRpcError, "NOT_FOUND | Servable"):
        raise FakeRpcError()
    assert capsys.readouterr().out == "FakeRpcError: StatusCode.NOT_FOUND | Servable not found\n"
