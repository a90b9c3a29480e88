/** Caffe models in and out (deploy prototxt + caffemodel, old and new layer formats) as the same graph IR, and CHaiDNN's quantized prototxt. */
package io.qspark.kernels.caffe;
