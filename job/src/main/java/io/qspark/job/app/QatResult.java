package io.qspark.job.app;

import io.qspark.job.report.TrainHistory;
import io.qspark.kernels.quant.OutputFidelity;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * What {@link Qat} wrote: the folder, the steps done (of {@code epochs} epochs of
 * {@code stepsPerEpoch}), the training time and speed of this run's steps, the training history
 * and the last validation top-1, when validated; the loss trained ({@code loss}: "cross-entropy",
 * "distillation", or both mixed) and, when distilling, every output of the trained fake-quant
 * model against the float model (on the validation images, else the calibration images).
 */
public record QatResult(String folder, long steps, int epochs, long stepsPerEpoch, double trainingSeconds,
    double imagesPerSecond, TrainHistory history, OptionalDouble lastValidationTop1, String loss,
    Map<String, OutputFidelity.Figures> outputs) {}
