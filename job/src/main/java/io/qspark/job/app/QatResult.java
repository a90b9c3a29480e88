package io.qspark.job.app;

import io.qspark.job.report.TrainHistory;
import java.util.OptionalDouble;

/**
 * What {@link Qat} wrote: the folder, the steps done (of {@code epochs} epochs of
 * {@code stepsPerEpoch}), the training time and speed of this run's steps, the training history
 * and the last validation top-1, when validated.
 */
public record QatResult(String folder, long steps, int epochs, long stepsPerEpoch, double trainingSeconds,
    double imagesPerSecond, TrainHistory history, OptionalDouble lastValidationTop1) {}
