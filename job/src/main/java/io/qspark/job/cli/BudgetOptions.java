package io.qspark.job.cli;

import io.qspark.job.app.AccuracyBudget;
import picocli.CommandLine.Option;

/** The accuracy budget of calibrate: how much may be lost, and the width the costliest points are raised to. */
final class BudgetOptions {
  @Option(names = "--max-drop", paramLabel = "POINTS", order = 46,
      description = "Accuracy budget: top-1 at most POINTS percentage points below the float model's on the calibration"
          + " images (needs labels). Points (activations, layers' weights) are raised to --raise-bits, those that win"
          + " back most first, until it holds; quant_info.json records them as layer rules. docs/layers.md#accuracy-budget.")
  Double maxDrop;

  @Option(names = "--min-sqnr", paramLabel = "DB", order = 47,
      description = "Accuracy budget for any model: the output SQNR (float vs quantized outputs) at least DB decibels.")
  Double minSqnr;

  @Option(names = "--raise-bits", paramLabel = "B", defaultValue = "8", order = 48,
      description = "The width the budget raises points to (the DPU computes at most 8). Default: ${DEFAULT-VALUE}.")
  int raiseBits;

  /** The budget, or null when neither --max-drop nor --min-sqnr is given. */
  AccuracyBudget settings() {
    if (maxDrop == null && minSqnr == null) return null;
    if (maxDrop != null && minSqnr != null) throw new IllegalArgumentException("--max-drop and --min-sqnr exclude each other");
    return new AccuracyBudget(maxDrop, minSqnr, raiseBits);
  }
}
