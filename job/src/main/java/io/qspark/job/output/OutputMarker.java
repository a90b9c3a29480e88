package io.qspark.job.output;

import io.qspark.kernels.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The small file qspark writes into every folder it owns: output folders ({@link AtomicFolder},
 * with the names of the files it wrote) and QAT checkpoint folders (with the run they belong
 * to). qspark replaces or deletes a folder only when it carries this file, and only what the
 * file lists: a folder written by someone else (or by a qspark before the marker existed) is
 * never touched. The leading underscore makes Hadoop, Spark and qspark's own data readers skip
 * it, as they skip _SUCCESS.
 */
public final class OutputMarker {
  /** The marker's name, in every folder qspark commits. */
  public static final String FILE = "_qspark.json";
  /** An output folder of a command. */
  static final String OUTPUT = "output";
  /** A folder of QAT checkpoints. */
  static final String CHECKPOINTS = "qat-checkpoints";

  /** What a marker says: the kind of folder, the files qspark wrote into it, the run it belongs to (or null). */
  record Contents(String kind, List<String> files, String run) {}

  private OutputMarker() {}

  static byte[] bytes(String kind, List<String> files, String run) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("written_by", "qspark");
    m.put("kind", kind);
    m.put("created", Instant.now().toString());
    m.put("files", files);
    if (run != null) m.put("run", run);
    return (Json.write(m) + "\n").getBytes(StandardCharsets.UTF_8);
  }

  static void write(FileSystem fs, Path dir, String kind, List<String> files, String run) throws IOException {
    try (OutputStream o = fs.create(new Path(dir, FILE), true)) {
      o.write(bytes(kind, files, run));
    }
  }

  /** The folder's marker, or null when it has none (or one qspark cannot read: then it is not qspark's either). */
  static Contents read(FileSystem fs, Path dir) throws IOException {
    Path p = new Path(dir, FILE);
    if (!fs.isFile(p)) return null;
    String text;
    try (InputStream in = fs.open(p)) {
      text = new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
    }
    try {
      if (!(Json.read(text) instanceof Map<?, ?> m) || !"qspark".equals(m.get("written_by")) || !(m.get("kind") instanceof String k)) {
        return null;
      }
      List<String> files = new ArrayList<>();
      if (m.get("files") instanceof List<?> l) for (Object o : l) if (o instanceof String s) files.add(s);
      return new Contents(k, List.copyOf(files), m.get("run") instanceof String r ? r : null);
    } catch (RuntimeException e) { // not JSON
      return null;
    }
  }
}
