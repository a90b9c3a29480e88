/**
 * ONNX models in and out: the importer (every unsupported op listed at once), the exporter,
 * tensors, opset forms, external data kept inside the model's folder, truncation detection.
 * Everything ONNX-specific stays here.
 */
package io.qspark.kernels.onnx;
