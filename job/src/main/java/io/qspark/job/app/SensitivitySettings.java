package io.qspark.job.app;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link Sensitivity} does: calibrate as {@code calibrate} says (its images are also the
 * ones every variant is scored on, its {@code out} the folder written), then score, for every
 * quantization point, the variants {@code variants} names.
 */
public record SensitivitySettings(CalibrateSettings calibrate, Variants variants) {
  /** Which variants of each point are scored. */
  public enum Variants {
    /** Only that point quantized: what the point costs on its own. */
    ONLY("only"),
    /** Every point quantized but that one: what keeping it float wins back. */
    ALL_BUT("all-but"),
    /** Both. */
    BOTH("both");

    public final String key;

    Variants(String key) {
      this.key = key;
    }

    public boolean only() {
      return this != ALL_BUT;
    }

    public boolean allBut() {
      return this != ONLY;
    }

    public static Variants parse(String s) {
      for (Variants v : values()) if (v.key.equals(s)) return v;
      throw new IllegalArgumentException("--variants must be only, all-but or both, got '" + s + "'");
    }
  }

  public SensitivitySettings {
    if (calibrate == null) throw new IllegalArgumentException("calibration settings must be given");
    if (variants == null) variants = Variants.BOTH;
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>(calibrate.json());
    m.put("variants", variants.key);
    return m;
  }
}
