package io.qspark.job.app;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Output-aware refinement of the fix_points a calibration chose (--refine-rounds,
 * --refine-images): {@code rounds} rounds of one-step moves scored against the float model's
 * outputs on the first {@code images} calibration images ({@link FixPointRefinement}). Zero
 * rounds: none, the calibration as its method chose it.
 */
public record Refinement(int rounds, int images) {
  public static final int DEFAULT_IMAGES = 64;
  public static final int MAX_ROUNDS = 50;
  public static final Refinement NONE = new Refinement(0, DEFAULT_IMAGES);

  public Refinement {
    if (rounds < 0 || rounds > MAX_ROUNDS) {
      throw new IllegalArgumentException("--refine-rounds must be 0 to " + MAX_ROUNDS + ", got " + rounds);
    }
    if (images < 1) throw new IllegalArgumentException("--refine-images must be at least 1, got " + images);
  }

  public static Refinement rounds(int rounds) {
    return new Refinement(rounds, DEFAULT_IMAGES);
  }

  public boolean enabled() {
    return rounds > 0;
  }

  /** As report.json's provenance records it. */
  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rounds", rounds);
    m.put("images", images);
    return m;
  }
}
