"""Exercises of notebook 10: adding a format to the comparison, and a size ratio measured, not guessed."""
from pathlib import Path

from .. import formats, frozen, lowlevel, paths
from . import Wrong, call, exercise


@exercise("10.1", "Add a row: the SavedModel as text", "medium", 15,
          "Restore the inference graph (lowlevel.restore_inference(lowlevel.ensure_checkpoint())), save it with "
          "SavedModelBuilder and save(as_text=True) into base / '1', and return formats.Format('text SavedModel', "
          "[folder], folder, lambda: formats.load_savedmodel(folder)).")
def check_text_savedmodel_format(text_savedmodel_format):
    """``text_savedmodel_format(base)`` saves a text SavedModel under ``base`` and returns its ``formats.Format``."""
    base = paths.fresh_dir(paths.artifact("exercises", "10.1"))
    candidate = call(text_savedmodel_format, base)
    if not isinstance(candidate, formats.Format):
        raise Wrong("return a formats.Format(name, files, graph_file, load), not {}".format(type(candidate).__name__))
    texts = [p for f in candidate.files for p in ([Path(f)] + list(Path(f).rglob("*"))) if p.name == "saved_model.pbtxt"]
    if not texts:
        raise Wrong("its files hold no saved_model.pbtxt: save with as_text=True")
    accuracy = formats.accuracy(candidate.load())
    if accuracy < 0.9:
        raise Wrong("loaded through its load(), it scores {:.4f} on the test rows: is the input order right?".format(
            accuracy))
    return "A '{}' row: {} bytes on disk, test accuracy {:.4f}.".format(
        candidate.name, formats.disk_bytes(candidate.files), accuracy)


@exercise("10.2", "How much smaller, measured", "easy", 5,
          "formats.disk_bytes([...]) of the checkpoint's three files (lowlevel.ensure_checkpoint() + '.index', "
          "'.meta', '.data-00000-of-00001') divided by disk_bytes([frozen.ensure_optimized()]).")
def check_size_ratio(size_ratio):
    """``size_ratio()`` is the checkpoint's bytes on disk divided by the optimised frozen graph's."""
    checkpoint = lowlevel.ensure_checkpoint()
    checkpoint_bytes = formats.disk_bytes(
        [checkpoint + suffix for suffix in (".index", ".meta", ".data-00000-of-00001")])
    expected = checkpoint_bytes / formats.disk_bytes([frozen.ensure_optimized()])
    got = call(size_ratio)
    try:
        got = float(got)
    except (TypeError, ValueError):
        raise Wrong("return one number, got {!r}".format(got)) from None
    if abs(got - expected) > 0.01 * expected:
        raise Wrong("{:.2f} is not the measured ratio (is it checkpoint / optimised, all three checkpoint "
                    "files?)".format(got))
    return "The checkpoint takes {:.1f} times the optimised frozen graph's bytes.".format(expected)
