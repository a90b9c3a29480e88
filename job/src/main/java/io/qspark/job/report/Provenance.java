package io.qspark.job.report;

import io.qspark.job.base.Build;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How an output was made, for report.json's "provenance": the qspark build (version, git
 * commit), the model (name, where it was read, SHA-256), the data (where, what, how many images,
 * a digest) and the run's settings as JSON.
 */
public record Provenance(Map<String, Object> model, Map<String, Object> data, Map<String, Object> settings) {
  public static Map<String, Object> model(String name, String location, String sha256) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("location", location);
    m.put("sha256", sha256);
    return m;
  }

  /** @param digest the data source's digest (sha256 and what it covers) */
  public static Map<String, Object> data(String location, String description, long images, Map<String, Object> digest) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("location", location);
    m.put("description", description);
    m.put("images", images);
    m.put("digest", digest);
    return m;
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("qspark", Build.json());
    if (model != null) m.put("model", model);
    if (data != null) m.put("data", data);
    m.put("settings", settings);
    return m;
  }
}
