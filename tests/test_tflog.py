"""tflog: deprecation notices hidden by default, collected without file paths on request."""
import tensorflow as tf

from iriscourse import tflog


def _use_a_deprecated_api():
    with tf.Graph().as_default():
        tf.layers.dense(tf.placeholder(tf.float32, [None, 4]), 3)


def test_collected_notices_name_the_api_and_its_replacement_without_a_file_path(capsys):
    from tensorflow.python.util import deprecation

    tflog.quiet()
    deprecation._PRINTED_WARNING.clear()
    with tflog.deprecation_notices() as notices:
        _use_a_deprecated_api()
    assert any(n.startswith("dense (from tensorflow.python.layers.core) is deprecated") for n in notices), notices
    assert all("From " not in n and ".py:" not in n for n in notices)
    assert "dense" not in capsys.readouterr().err


def test_after_the_block_notices_are_hidden_again():
    from tensorflow.python.util import deprecation

    tflog.quiet()
    with tflog.deprecation_notices():
        pass
    assert deprecation._PRINT_DEPRECATION_WARNINGS is False
    assert not any(isinstance(h, tflog._Collect) for h in tf.get_logger().handlers)
