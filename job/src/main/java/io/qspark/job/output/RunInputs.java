package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.data.HadoopFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.hadoop.fs.Path;

/**
 * The files and folders a run reads (model, weights, data, labels, calibration or deploy
 * folder), so that no output of the run lands on them: an output location that equals, contains
 * or lies inside one of them is refused before any work, naming both. Locations are compared
 * absolute, on their file system (scheme and authority), local ones with links resolved. Immutable.
 */
public final class RunInputs {
  private record Input(String what, String shown, Path where) {}

  private static final RunInputs NONE = new RunInputs(List.of());
  private final List<Input> inputs;

  private RunInputs(List<Input> inputs) {
    this.inputs = inputs;
  }

  public static RunInputs none() {
    return NONE;
  }

  /**
   * With one more input.
   *
   * @param what how the user named it ("--data")
   * @param location a path or URI as data paths take them (no scheme: the default file system);
   *     null, blank and non-file sources (table:NAME, synthetic:N) are not files and are skipped
   */
  public RunInputs with(String what, String location) {
    if (location == null || location.isBlank() || location.startsWith("table:") || location.startsWith("synthetic:")) return this;
    Path p;
    try {
      p = HadoopFiles.qualified(location, HadoopFiles.driverConfiguration());
    } catch (UserError e) {
      return this; // not a path at all: the reader reports it
    }
    return plus(what, HadoopFiles.display(p), p);
  }

  /** With one more local input (a model file, weights): a path on this machine whatever fs.defaultFS says. */
  public RunInputs with(String what, java.nio.file.Path local) {
    if (local == null) return this;
    java.nio.file.Path abs = local.toAbsolutePath().normalize();
    return plus(what, abs.toString(), new Path("file:" + abs));
  }

  /** Both sets. */
  public RunInputs and(RunInputs more) {
    List<Input> all = new ArrayList<>(inputs);
    all.addAll(more.inputs);
    return new RunInputs(List.copyOf(all));
  }

  private RunInputs plus(String what, String shown, Path where) {
    List<Input> all = new ArrayList<>(inputs);
    all.add(new Input(what, shown, canonical(where)));
    return new RunInputs(List.copyOf(all));
  }

  /**
   * Refuses an output location that equals, contains or lies inside an input.
   *
   * @param what how the user named the output ("--out")
   * @param location the output, a path or URI (no scheme: the default file system)
   */
  public void checkOutput(String what, String location) {
    checkOutput(what, HadoopFiles.qualified(location, HadoopFiles.driverConfiguration()));
  }

  /** The same for a local output file. */
  public void checkOutput(String what, java.nio.file.Path local) {
    checkOutput(what, new Path("file:" + local.toAbsolutePath().normalize()));
  }

  void checkOutput(String what, Path qualified) {
    Path out = canonical(qualified);
    for (Input in : inputs) {
      String relation = relation(out, in.where());
      if (relation != null) {
        throw new UserError(what + " " + HadoopFiles.display(qualified) + " " + relation + " " + in.what() + " " + in.shown()
            + ": a run's outputs never overlap what it reads or its other outputs; choose another place");
      }
    }
  }

  /**
   * "is", "contains" or "lies inside" when a and b share a file system and one path is the
   * other or an ancestor of it; null when they are apart.
   */
  static String relation(Path a, Path b) {
    URI x = a.toUri(), y = b.toUri();
    if (!Objects.equals(lower(x.getScheme()), lower(y.getScheme())) || !Objects.equals(lower(x.getAuthority()), lower(y.getAuthority()))) {
      return null;
    }
    String p = trimmed(x.getPath()), q = trimmed(y.getPath());
    if (p.equals(q)) return "is";
    if (q.startsWith(p.equals("/") ? p : p + "/")) return "contains";
    if (p.startsWith(q.equals("/") ? q : q + "/")) return "lies inside";
    return null;
  }

  private static String lower(String s) {
    return s == null ? null : s.toLowerCase(java.util.Locale.ROOT);
  }

  private static String trimmed(String path) {
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  /**
   * A local path with its links resolved (the longest part that exists, the rest appended), so
   * a link to an input is that input; other file systems' paths as they are.
   */
  static Path canonical(Path p) {
    URI u = p.toUri();
    if (!"file".equals(u.getScheme())) return p;
    java.nio.file.Path local;
    try {
      local = java.nio.file.Path.of(u.getPath()).toAbsolutePath().normalize();
    } catch (InvalidPathException e) {
      return p;
    }
    java.nio.file.Path existing = local;
    while (existing != null && !Files.exists(existing)) existing = existing.getParent();
    if (existing == null) return p;
    try {
      java.nio.file.Path real = existing.toRealPath().resolve(existing.relativize(local));
      return new Path("file:" + real.normalize());
    } catch (IOException e) {
      return p;
    }
  }

  /** For tests and messages: the inputs as "--what location". */
  @Override
  public String toString() {
    List<String> s = new ArrayList<>();
    for (Input in : inputs) s.add(in.what() + " " + in.shown());
    return String.join(", ", s);
  }
}
