package io.qspark.job.base;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * What qspark build is running: its version and the git commit it was built from (Maven writes
 * both into version.properties; "unknown" when built outside a git checkout). Every artifact
 * records them, so a folder says which code made it.
 */
public final class Build {
  private static final Properties PROPERTIES = load();

  private Build() {}

  /** qspark's version, e.g. 0.1.0. */
  public static String version() {
    return get("version");
  }

  /** The full id of the commit the jar was built from, or "unknown". */
  public static String gitCommit() {
    return get("git.commit");
  }

  /** Whether the working tree had uncommitted changes at the build ("unknown" when not known). */
  public static String gitDirty() {
    return gitCommit().equals("unknown") ? "unknown" : get("git.dirty");
  }

  /** The Spark version the jar was built against. */
  public static String sparkBuild() {
    return get("spark.build");
  }

  /** version, git_commit and git_dirty, for report.json. */
  public static Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("version", version());
    m.put("git_commit", gitCommit());
    m.put("git_dirty", gitDirty());
    return m;
  }

  private static String get(String key) {
    String v = PROPERTIES.getProperty(key);
    // an unfiltered ${...} means the build did not set it (e.g. no git checkout)
    return v == null || v.isBlank() || v.startsWith("${") ? "unknown" : v;
  }

  private static Properties load() {
    Properties p = new Properties();
    try (InputStream in = Build.class.getResourceAsStream("/io/qspark/job/version.properties")) {
      if (in != null) p.load(in);
    } catch (IOException e) {
      // no properties: everything reads "unknown"
    }
    return p;
  }
}
