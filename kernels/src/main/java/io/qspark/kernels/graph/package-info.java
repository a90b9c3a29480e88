/**
 * The graph IR: an immutable, topologically ordered dataflow graph of named values with ONNX op
 * types and attributes. Importers (onnx, caffe) produce it; passes, the executor, quantization
 * and training read it and return new graphs.
 */
package io.qspark.kernels.graph;
