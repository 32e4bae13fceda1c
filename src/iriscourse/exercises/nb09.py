"""Exercises of notebook 09: a loud TensorRT guard, and TF-TRT on a SavedModel from Python."""
import numpy as np
import tensorflow as tf
from tensorflow.contrib import tensorrt as trt

from .. import data, export, frozen, paths
from . import NotAttempted, Wrong, call, exercise


@exercise("09.1", "A guard that fails loudly without TensorRT", "easy", 10,
          "Raise RuntimeError (with a message that names TensorRT and what is missing) unless "
          "trt.is_tensorrt_enabled() and tf.test.is_gpu_available() are both True; otherwise return quietly.")
def check_require_tensorrt(require_tensorrt):
    """``require_tensorrt()`` raises ``RuntimeError`` naming TensorRT when TF-TRT cannot build engines."""
    available = trt.is_tensorrt_enabled() and tf.test.is_gpu_available()
    try:
        call(require_tensorrt)
    except NotAttempted:
        raise
    except RuntimeError as error:
        if available:
            raise Wrong("TensorRT is available here, but it raised: {}".format(error)) from None
        if "tensorrt" not in str(error).lower():
            raise Wrong("its message {!r} does not say that TensorRT is missing".format(str(error))) from None
        return "Without TensorRT it stops with: RuntimeError: {}".format(error)
    except Exception as error:  # noqa: BLE001 - any other type is the wrong answer
        raise Wrong("it raised {}, not RuntimeError".format(type(error).__name__)) from None
    if not available:
        raise Wrong("TensorRT is not available here, and it returned without an error: a guard must fail loudly")
    return "TensorRT is available, and it let the conversion go on."


@exercise("09.2", "TF-TRT on a SavedModel, from Python", "medium", 10,
          "trt.create_inference_graph(None, None, max_batch_size=30, precision_mode='FP32', "
          "input_saved_model_dir=input_dir, input_saved_model_tags=['serve'], output_saved_model_dir=output_dir)")
def check_convert_savedmodel(convert_savedmodel):
    """``convert_savedmodel(input_dir, output_dir)`` writes a TF-TRT SavedModel that keeps the signature."""
    input_dir = export.ensure_export("raw")
    output_dir = paths.fresh_dir(paths.artifact("exercises", "09.2")) / "1"
    with tf.Graph().as_default():
        call(convert_savedmodel, str(input_dir), str(output_dir))
    if not (output_dir / "saved_model.pb").is_file():
        raise Wrong("{} holds no saved_model.pb: write the converted SavedModel there".format(output_dir))
    rows = {name: np.array(values, np.float32) for name, values in data.PREDICT_X.items()}
    with tf.Session(graph=tf.Graph()) as sess:
        meta_graph = tf.saved_model.loader.load(sess, ["serve"], str(output_dir))
        if "serving_default" not in meta_graph.signature_def:
            raise Wrong("the converted model lost its serving_default signature")
        signature = meta_graph.signature_def["serving_default"]
        classes = sess.run(signature.outputs["class_ids"].name,
                           {signature.inputs[name].name: value for name, value in rows.items()})
        engines = frozen.op_counts(meta_graph.graph_def)["TRTEngineOp"]
    if classes.ravel().tolist() != data.PREDICT_EXPECTED:
        raise Wrong("it predicts {} for the seed's flowers, not {}".format(classes.ravel().tolist(),
                                                                         data.PREDICT_EXPECTED))
    return "serving_default kept, classes {} for the seed's flowers, {} TRTEngineOp.".format(
        classes.ravel().tolist(), engines)
