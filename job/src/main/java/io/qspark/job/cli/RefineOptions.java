package io.qspark.job.cli;

import io.qspark.job.app.Refinement;
import picocli.CommandLine.Option;

/** Output-aware refinement of the fix_points, for calibrate and finetune. */
final class RefineOptions {
  @Option(names = "--refine-rounds", paramLabel = "R", defaultValue = "0", order = 58,
      description = "Refine the fix_points against the model's outputs: each round scores every point's fix_point one"
          + " step either way (activations and per-tensor weights) by the mean per-output SQNR against the float model"
          + " on the first --refine-images calibration images, then keeps the best set of improving moves; stops early"
          + " when none improves. Each round costs about as much as scoring every point once (qspark sensitivity)."
          + " docs/calibration.md#refinement. Default: ${DEFAULT-VALUE} (none).")
  int rounds;

  @Option(names = "--refine-images", paramLabel = "N", defaultValue = "" + Refinement.DEFAULT_IMAGES, order = 59,
      description = "Calibration images the refinement scores on (the first N). Default: ${DEFAULT-VALUE}.")
  int images;

  Refinement settings() {
    return new Refinement(rounds, images);
  }
}
