package io.qspark.job.app;

import io.qspark.job.eval.EvalCounts;
import java.util.Optional;

/**
 * What {@link Evaluate} found: which model ran on what data with which preprocessing, where,
 * how fast, and for a classifier with labels its counts (top-1 per class, top-5, agreement with
 * the float model when the model was quantized).
 *
 * @param model the model as reports name it (source, format, digest, and its quant_info.json if quantized)
 * @param spark master, partitions and batch
 */
public record EvaluateResult(String model, String data, String preprocessing, String spark, double seconds, long images,
    Optional<EvalCounts> classification) {}
