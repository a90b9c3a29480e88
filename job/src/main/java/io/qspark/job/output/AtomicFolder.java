package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.data.HadoopFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An output folder that appears whole or not at all, on any Hadoop file system (the local disk,
 * hdfs://, ...): files go into a hidden sibling ".qspark-tmp-NAME-UUID" ({@link Staging}), which
 * is renamed onto the target only when everything is written. Renaming a folder is atomic on
 * POSIX disks and on HDFS (one name-node operation), so a reader (a retried Airflow task, deploy)
 * sees the folder complete or not at all. A failed or stopped run deletes its temporary folder; a
 * killed one leaves at most that hidden folder, which Hadoop, Spark and qspark's own readers skip
 * and the next run writing beside it removes.
 *
 * <p>Nothing qspark did not write is replaced or deleted: the target must not equal, contain or
 * lie inside an input of the run ({@link RunInputs}), and an existing target (with --overwrite)
 * is replaced only if it carries qspark's {@link OutputMarker} and holds nothing but the files
 * the marker lists. It is then first renamed aside to ".qspark-old-NAME-UUID", the new one renamed
 * into place, then the old one deleted: a reader sees the old folder, for an instant none, then
 * the new one; never a mix of the two. The target is checked before any work is spent and again
 * at the commit, so a folder another run created meanwhile is not replaced without --overwrite.
 */
public final class AtomicFolder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.output");
  /** Folders of this process neither committed nor closed: what a stop signal removes ({@link #abandonAll}). */
  private static final Set<AtomicFolder> OPEN = ConcurrentHashMap.newKeySet();

  private final FileSystem fs;
  private final Path target;
  private final Staging staging;
  private final boolean overwrite;
  private final List<String> written = new ArrayList<>();
  private boolean committed;
  private boolean closed;

  private AtomicFolder(FileSystem fs, Path target, Staging staging, boolean overwrite) {
    this.fs = fs;
    this.target = target;
    this.staging = staging;
    this.overwrite = overwrite;
  }

  /**
   * Checks the target can be written (before any work is spent) and opens the temporary folder.
   *
   * @param location a path or URI; without a scheme, on the default file system (fs.defaultFS),
   *     as data paths are
   * @param inputs what the run reads, which the folder must keep apart from
   */
  public static AtomicFolder create(String location, boolean overwrite, RunInputs inputs) {
    return create(location, overwrite, inputs, HadoopFiles.driverConfiguration());
  }

  public static AtomicFolder create(String location, boolean overwrite, RunInputs inputs, Configuration conf) {
    return create("--out", location, overwrite, inputs, conf);
  }

  /** @param what how the user named the output, for messages ("--predictions") */
  static AtomicFolder create(String what, String location, boolean overwrite, RunInputs inputs, Configuration conf) {
    Path target = HadoopFiles.qualified(location, conf);
    FileSystem fs = fileSystem(target, conf);
    String shown = HadoopFiles.display(target);
    try {
      check(fs, target, overwrite, inputs, what);
      Path parent = target.getParent();
      for (String note : Staging.removeStale(fs, parent)) LOG.info(note);
      AtomicFolder f = new AtomicFolder(fs, target, Staging.create(fs, parent, target.getName()), overwrite);
      OPEN.add(f);
      return f;
    } catch (IOException e) {
      throw new UserError("cannot create output folder beside " + shown + ": " + oneLine(e), e);
    }
  }

  /**
   * What {@link #create} checks first, for a command to call before it loads anything: the target
   * is apart from the run's inputs, and absent, or (with --overwrite) qspark's to replace.
   */
  public static void check(String location, boolean overwrite, RunInputs inputs) {
    Configuration conf = HadoopFiles.driverConfiguration();
    Path target = HadoopFiles.qualified(location, conf);
    try {
      check(fileSystem(target, conf), target, overwrite, inputs, "--out");
    } catch (IOException e) {
      throw new UserError("cannot read " + HadoopFiles.display(target) + ": " + oneLine(e), e);
    }
  }

  private static void check(FileSystem fs, Path target, boolean overwrite, RunInputs inputs, String what) throws IOException {
    String shown = HadoopFiles.display(target);
    inputs.checkOutput(what, target);
    if (target.getParent() == null) throw new UserError("cannot write an output folder at the root " + shown);
    if (fs.exists(target)) {
      if (!fs.getFileStatus(target).isDirectory()) throw new UserError(shown + " exists and is not a folder");
      if (!overwrite) throw new UserError("output folder " + shown + " already exists; choose another --out or pass --overwrite");
      requireReplaceable(fs, target, shown);
    }
  }

  private static FileSystem fileSystem(Path target, Configuration conf) {
    FileSystem fs = HadoopFiles.fileSystem(target, conf);
    // the checksummed local file system would put .crc files beside every output file
    return fs instanceof LocalFileSystem local ? local.getRaw() : fs;
  }

  /** A local folder. */
  public static AtomicFolder begin(java.nio.file.Path target, boolean overwrite, RunInputs inputs) {
    // "file:" + the plain path: Hadoop's Path parses its string unescaped (toUri() would give %20 for a space)
    return create("file:" + target.toAbsolutePath().normalize(), overwrite, inputs);
  }

  /**
   * An existing folder --overwrite may replace: qspark's output folder (its marker says so), with
   * nothing in it that qspark did not write there.
   */
  private static void requireReplaceable(FileSystem fs, Path target, String shown) throws IOException {
    OutputMarker.Contents c = OutputMarker.read(fs, target);
    if (c == null) {
      throw new UserError("output folder " + shown + " was not written by qspark (it has no " + OutputMarker.FILE
          + "), and --overwrite replaces only qspark's own output folders; move it away or choose another --out");
    }
    if (!c.kind().equals(OutputMarker.OUTPUT)) {
      throw new UserError(shown + " is a qspark " + c.kind() + " folder, not an output folder; choose another --out");
    }
    List<String> foreign = new ArrayList<>();
    for (FileStatus s : fs.listStatus(target)) {
      String n = s.getPath().getName();
      if (!n.equals(OutputMarker.FILE) && !(s.isFile() && c.files().contains(n))) foreign.add(n);
    }
    if (!foreign.isEmpty()) {
      foreign.sort(null);
      throw new UserError("output folder " + shown + " holds " + foreign.size() + " file" + (foreign.size() > 1 ? "s" : "")
          + " qspark did not write (" + String.join(", ", foreign.subList(0, Math.min(5, foreign.size())))
          + (foreign.size() > 5 ? ", ..." : "") + "), which --overwrite would delete; move them away or choose another --out");
    }
  }

  public void write(String name, byte[] bytes) {
    if (name.contains("/") || name.equals(OutputMarker.FILE) || written.contains(name)) {
      throw new IllegalArgumentException("not a new file name of the folder: " + name);
    }
    try (OutputStream out = fs.create(new Path(staging.dir(), name), false)) {
      out.write(bytes);
    } catch (IOException e) {
      throw new UserError("cannot write " + name + " to " + shown() + ": " + oneLine(e), e);
    }
    written.add(name);
  }

  public void write(String name, String text) {
    write(name, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Puts the folder in place with its marker; an existing one (qspark's, with --overwrite) is replaced as a whole, then deleted. */
  public synchronized void commit() {
    if (closed) throw new IllegalStateException("the folder for " + shown() + " was closed before its commit");
    try {
      OutputMarker.write(fs, staging.dir(), OutputMarker.OUTPUT, written, null);
      Path old = null;
      if (fs.exists(target)) {
        if (!overwrite) throw new UserError("output folder " + shown() + " appeared while the job ran; not replacing it");
        requireReplaceable(fs, target, shown());
        old = new Path(target.getParent(), ".qspark-old-" + target.getName() + "-" + UUID.randomUUID());
        rename(target, old);
      }
      // the target is absent here: on HDFS, renaming onto an existing folder would move into it
      rename(staging.dir(), target);
      committed = true;
      staging.release();
      OPEN.remove(this);
      if (old != null) fs.delete(old, true);
    } catch (IOException e) {
      throw new UserError("cannot move the output into place at " + shown() + ": " + oneLine(e), e);
    }
  }

  private void rename(Path from, Path to) throws IOException {
    if (!fs.rename(from, to)) throw new IOException("the file system refused to rename " + from + " to " + to);
  }

  /** Without a commit, the temporary folder is removed: nothing is left behind. */
  @Override
  public synchronized void close() {
    if (committed || closed) return;
    closed = true;
    OPEN.remove(this);
    staging.discard();
  }

  /**
   * Removes the temporary folder of every output folder of this process that is not committed
   * (a run stopped by a signal); one being committed finishes first.
   */
  public static void abandonAll() {
    for (AtomicFolder f : List.copyOf(OPEN)) f.close();
  }

  /**
   * A sibling of the target, NAME + suffix, as a URI on the target's file system (for what a
   * job keeps beside its output, such as QAT's checkpoints).
   */
  public String sibling(String suffix) {
    return new Path(target.getParent(), target.getName() + suffix).toString();
  }

  /** The temporary folder as a URI on the target's file system, for writers that fill a folder themselves (Spark's). */
  String temporaryLocation() {
    return staging.dir().toString();
  }

  /**
   * After another writer (Spark's) filled the temporary folder: its files are recorded as
   * qspark's in the marker, so that --overwrite may later replace the folder. Files only: a
   * writer that made subfolders has made a folder qspark does not replace.
   */
  void adoptWritten() {
    try {
      for (FileStatus s : fs.listStatus(staging.dir())) {
        String n = s.getPath().getName();
        if (s.isFile() && !n.equals(OutputMarker.FILE) && !written.contains(n)) written.add(n);
      }
    } catch (IOException e) {
      throw new UserError("cannot list " + shown() + "'s temporary folder: " + oneLine(e), e);
    }
  }

  /** The target as the user reads it: local paths as paths, others as URIs. */
  public String shown() {
    return HadoopFiles.display(target);
  }

  static String oneLine(IOException e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
