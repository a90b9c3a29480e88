package io.qspark.job.app;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How much a calibration may lose against the float model on its images, and how points are
 * raised to keep within it: either {@code maxDrop} top-1 points (needs labels) or an output SQNR of
 * at least {@code minSqnrDb} (any model). The points that win back most are raised to
 * {@code raiseBits}, one at a time in that order, until the budget holds.
 *
 * @param maxDrop top-1 percentage points below float, or null
 * @param minSqnrDb output SQNR in dB, or null
 * @param raiseBits the width raised points get (the DPU computes at most 8)
 */
public record AccuracyBudget(Double maxDrop, Double minSqnrDb, int raiseBits) {
  public static final int DEFAULT_RAISE_BITS = 8;

  public AccuracyBudget {
    if ((maxDrop == null) == (minSqnrDb == null)) throw new IllegalArgumentException("give one of --max-drop and --min-sqnr");
    if (maxDrop != null && !(maxDrop >= 0 && maxDrop <= 100)) {
      throw new IllegalArgumentException("--max-drop must be 0 to 100 top-1 points, got " + maxDrop);
    }
    if (minSqnrDb != null && !Double.isFinite(minSqnrDb)) throw new IllegalArgumentException("--min-sqnr must be a number of dB");
    if (raiseBits < 2 || raiseBits > 16) throw new IllegalArgumentException("--raise-bits must be 2 to 16, got " + raiseBits);
  }

  public static AccuracyBudget maxDrop(double points) {
    return new AccuracyBudget(points, null, DEFAULT_RAISE_BITS);
  }

  public static AccuracyBudget minSqnr(double db) {
    return new AccuracyBudget(null, db, DEFAULT_RAISE_BITS);
  }

  /** Whether the budget is in top-1 (else in output SQNR). */
  public boolean top1() {
    return maxDrop != null;
  }

  /** As the console and report.json state it: "top-1 drop <= 1.0 points". */
  public String describe() {
    return top1() ? "top-1 drop <= " + maxDrop + " points" : "output SQNR >= " + minSqnrDb + " dB";
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    if (maxDrop != null) m.put("max_drop", maxDrop);
    if (minSqnrDb != null) m.put("min_sqnr_db", minSqnrDb);
    m.put("raise_bits", raiseBits);
    return m;
  }
}
