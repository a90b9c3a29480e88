package io.qspark.job.app;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a stage writes its folder (--out), local or on any Hadoop file system, and whether an
 * existing folder there may be replaced (--overwrite). Folders are written atomically.
 */
public record OutputSettings(String location, boolean overwrite) {
  public OutputSettings {
    if (location == null || location.isBlank()) throw new IllegalArgumentException("--out is empty");
  }

  public static OutputSettings of(String location) {
    return new OutputSettings(location, false);
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("out", location);
    m.put("overwrite", overwrite);
    return m;
  }
}
