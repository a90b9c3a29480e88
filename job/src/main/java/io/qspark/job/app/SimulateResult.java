package io.qspark.job.app;

import io.qspark.job.eval.EvalCounts;
import io.qspark.job.eval.SimulationCounts;
import io.qspark.kernels.quant.OutputFidelity;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What {@link Simulate} found: the integers of the deploy model compared with the fake-quant
 * model's, over all outputs and per output, and every simulated output's fidelity against the
 * float model (for any model); for a classifier with labels its top-1 figures.
 *
 * @param deployModel the deploy model run, for reports
 * @param data the images, as the data source describes them
 * @param preprocessing the steps that made them inputs
 * @param spark master, partitions and batch
 * @param folder the folder written, or null
 * @param dump the golden dump written, if one was asked for
 * @param segmentation float and simulated mIoU against label masks (--metric miou), when asked for
 */
public record SimulateResult(String deployModel, String data, String preprocessing, String spark, double seconds,
    long images, long outputIntegers, long mismatches, Map<String, Long> mismatchesPerOutput,
    Map<String, OutputFidelity.Figures> fidelity, Optional<Classification> classification, Optional<Gate> gate,
    String folder, Optional<DumpWritten> dump, Optional<Segmentation> segmentation) {
  public SimulateResult {
    mismatchesPerOutput = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(mismatchesPerOutput));
    fidelity = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fidelity));
  }

  /** A golden dump: where, of how many images, how many layers each. */
  public record DumpWritten(String folder, int images, int layers) {
    public String describe() {
      return "golden dump of " + images + " image" + (images == 1 ? "" : "s") + ", " + layers + " layers each: " + folder;
    }
  }

  SimulateResult withDump(DumpWritten d) {
    return new SimulateResult(deployModel, data, preprocessing, spark, seconds, images, outputIntegers, mismatches,
        mismatchesPerOutput, fidelity, classification, gate, folder, Optional.ofNullable(d), segmentation);
  }

  SimulateResult withSegmentation(Segmentation g) {
    return new SimulateResult(deployModel, data, preprocessing, spark, seconds, images, outputIntegers, mismatches,
        mismatchesPerOutput, fidelity, classification, gate, folder, dump, Optional.ofNullable(g));
  }

  /** The classifier's figures: the simulator's counts (top-1 per class, agreement with float) and float and fake-quant top-1. */
  public record Classification(EvalCounts simulated, long floatCorrect, long fakeQuantCorrect) {
    public double top1() {
      return simulated.top1Percent();
    }

    public double floatTop1() {
      return 100.0 * floatCorrect / Math.max(1, simulated.images());
    }

    public double fakeQuantTop1() {
      return 100.0 * fakeQuantCorrect / Math.max(1, simulated.images());
    }

    public double agreementWithFloat() {
      return simulated.agreementPercent();
    }
  }

  /**
   * The accuracy gate: {@code drop} is float top-1 minus simulated top-1 as printed (two
   * decimals), so the verdict agrees with what the user reads.
   */
  public record Gate(double maxDrop, double drop, boolean passed) {}

  static SimulateResult of(String deployModel, String data, String preprocessing, String spark, double seconds,
      SimulationCounts c, boolean classifier, Double maxTop1Drop, String folder) {
    Classification cls = classifier ? new Classification(c.eval(), c.floatTop1(), c.fakeQuantTop1()) : null;
    Gate gate = null;
    if (maxTop1Drop != null && cls != null) {
      double drop = Double.parseDouble(pct(cls.floatTop1())) - Double.parseDouble(pct(cls.top1()));
      gate = new Gate(maxTop1Drop, drop, drop <= maxTop1Drop + 1e-9);
    }
    return new SimulateResult(deployModel, data, preprocessing, spark, seconds, c.images(), c.outputs(), c.mismatches(),
        c.mismatchesPerOutput(), c.fidelity().figures(), Optional.ofNullable(cls), Optional.ofNullable(gate), folder,
        Optional.empty(), Optional.empty());
  }

  /** A percentage as printed: two decimals. */
  public static String pct(double p) {
    return String.format(Locale.ROOT, "%.2f", p);
  }
}
