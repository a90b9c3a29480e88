/**
 * qspark as Spark ML stages: {@link io.qspark.job.ml.Quantizer}, an Estimator whose Params are
 * calibrate's and finetune's settings, fits a DataFrame's image column into a
 * {@link io.qspark.job.ml.QuantizedModel}, a Transformer that appends the model's outputs
 * (float, fake-quantized or from the bit-exact integer simulator) computed on the executors.
 * Both save and load with Spark's own Pipeline persistence. Over the application layer
 * (io.qspark.job.app), as the command line is; nothing here is used by the layers below.
 */
package io.qspark.job.ml;
