package io.qspark.job.output;

import io.qspark.job.base.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * QAT checkpoints in a folder on any Hadoop file system (local, hdfs://, ...): each is
 * {@code step-NNNNNNNNN/state.bin} (with the run's {@code history.json} so far beside it), written into a hidden ".qspark-tmp-" sibling and renamed into
 * place (a rename is atomic on HDFS and on a local disk), so a job killed mid-write leaves no
 * checkpoint that looks complete. The newest {@link #KEEP} are kept.
 */
public final class QatCheckpoints {
  static final int KEEP = 2;
  private static final String PREFIX = "step-", STATE = "state.bin", HISTORY = "history.json";
  private final Path dir;
  private final FileSystem fs;

  public QatCheckpoints(String dir, Configuration conf) {
    try {
      Path p = new Path(dir);
      this.fs = p.getFileSystem(conf);
      this.dir = fs.makeQualified(p);
    } catch (IOException e) {
      throw new UserError("cannot open checkpoint folder " + dir + ": " + e.getMessage(), e);
    }
  }

  public String where() {
    return dir.toString();
  }

  /** @param history the training history up to this step (null: none) */
  public void write(long step, byte[] state, byte[] history) {
    String name = String.format(Locale.ROOT, PREFIX + "%09d", step);
    Path target = new Path(dir, name), temp = new Path(dir, ".qspark-tmp-" + name + "-" + java.util.UUID.randomUUID());
    try {
      fs.mkdirs(dir);
      if (history != null) {
        try (OutputStream o = fs.create(new Path(temp, HISTORY), false)) {
          o.write(history);
        }
      }
      // state last: a folder with state.bin is complete
      try (OutputStream o = fs.create(new Path(temp, STATE), false)) {
        o.write(state);
      }
      if (fs.exists(target)) fs.delete(target, true);
      if (!fs.rename(temp, target)) throw new IOException("rename to " + target + " failed");
      List<Path> all = list();
      for (int i = 0; i + KEEP < all.size(); i++) fs.delete(all.get(i), true);
    } catch (IOException e) {
      try {
        fs.delete(temp, true);
      } catch (IOException ignored) {
        // the write failed already; that is the error to report
      }
      throw new UserError("cannot write checkpoint " + target + ": " + e.getMessage(), e);
    }
  }

  /** The newest checkpoint's state, or null if there is none. */
  public byte[] latest() {
    return latest(STATE);
  }

  /** The newest checkpoint's history, or null if there is none or it has none. */
  public byte[] latestHistory() {
    return latest(HISTORY);
  }

  private byte[] latest(String file) {
    try {
      List<Path> all = list();
      if (all.isEmpty()) return null;
      Path p = new Path(all.get(all.size() - 1), file);
      if (!fs.exists(p)) return null;
      try (InputStream in = fs.open(p)) {
        return in.readAllBytes();
      }
    } catch (IOException e) {
      throw new UserError("cannot read checkpoints in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Whether some complete checkpoint exists. */
  public boolean any() {
    try {
      return !list().isEmpty();
    } catch (IOException e) {
      throw new UserError("cannot read checkpoints in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Removes the folder with everything in it (the default folder, once the run's output is in place). */
  public void delete() {
    try {
      fs.delete(dir, true);
    } catch (IOException e) {
      throw new UserError("cannot delete checkpoint folder " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Removes every checkpoint (a fresh run over an old folder, with --overwrite). */
  public void clear() {
    try {
      for (Path p : list()) fs.delete(p, true);
    } catch (IOException e) {
      throw new UserError("cannot clear checkpoints in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Complete checkpoints, oldest first. */
  private List<Path> list() throws IOException {
    List<Path> r = new ArrayList<>();
    if (!fs.exists(dir)) return r;
    for (FileStatus s : fs.listStatus(dir)) {
      String n = s.getPath().getName();
      if (s.isDirectory() && n.startsWith(PREFIX) && fs.exists(new Path(s.getPath(), STATE))) r.add(s.getPath());
    }
    r.sort((a, b) -> a.getName().compareTo(b.getName()));
    return r;
  }
}
