package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.data.HadoopFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * An output folder that appears whole or not at all, on any Hadoop file system (the local disk,
 * hdfs://, ...): files go into a hidden sibling ".qspark-tmp-NAME-UUID", which is renamed onto
 * the target only when everything is written. Renaming a folder is atomic on POSIX disks and on
 * HDFS (one name-node operation), so a reader (a retried Airflow task, deploy) sees the folder
 * complete or not at all. A failed run deletes its temporary folder; a killed one leaves at most
 * that hidden folder, which Hadoop, Spark and qspark's own readers skip.
 *
 * <p>An existing folder (with --overwrite) is replaced as a whole: it is first renamed aside to
 * ".qspark-old-NAME-UUID", the new one renamed into place, then the old one deleted. A reader
 * sees the old folder, for an instant none, then the new one; never a mix of the two. The
 * target is checked before any work is spent and again at the commit, so a folder another run
 * created meanwhile is not replaced without --overwrite.
 */
public final class AtomicFolder implements AutoCloseable {
  private final FileSystem fs;
  private final Path target;
  private final Path temp;
  private final boolean overwrite;
  private boolean committed;

  private AtomicFolder(FileSystem fs, Path target, Path temp, boolean overwrite) {
    this.fs = fs;
    this.target = target;
    this.temp = temp;
    this.overwrite = overwrite;
  }

  /**
   * Checks the target can be written (before any work is spent) and opens the temporary folder.
   *
   * @param location a path or URI; without a scheme, on the default file system (fs.defaultFS),
   *     as data paths are
   */
  public static AtomicFolder create(String location, boolean overwrite) {
    return create(location, overwrite, HadoopFiles.driverConfiguration());
  }

  public static AtomicFolder create(String location, boolean overwrite, Configuration conf) {
    Path target = HadoopFiles.qualified(location, conf);
    FileSystem fs = HadoopFiles.fileSystem(target, conf);
    // the checksummed local file system would put .crc files beside every output file
    if (fs instanceof LocalFileSystem local) fs = local.getRaw();
    String shown = HadoopFiles.display(target);
    try {
      if (fs.exists(target)) {
        if (!fs.getFileStatus(target).isDirectory()) throw new UserError(shown + " exists and is not a folder");
        if (!overwrite) throw new UserError("output folder " + shown + " already exists; choose another --out or pass --overwrite");
      }
      Path parent = target.getParent();
      if (parent == null) throw new UserError("cannot write an output folder at the root " + shown);
      Path temp = new Path(parent, ".qspark-tmp-" + target.getName() + "-" + UUID.randomUUID());
      if (!fs.mkdirs(temp)) throw new IOException("mkdirs failed");
      return new AtomicFolder(fs, target, temp, overwrite);
    } catch (IOException e) {
      throw new UserError("cannot create output folder beside " + shown + ": " + oneLine(e), e);
    }
  }

  /** A local folder. */
  public static AtomicFolder begin(java.nio.file.Path target, boolean overwrite) {
    // "file:" + the plain path: Hadoop's Path parses its string unescaped (toUri() would give %20 for a space)
    return create("file:" + target.toAbsolutePath().normalize(), overwrite);
  }

  public void write(String name, byte[] bytes) {
    try (OutputStream out = fs.create(new Path(temp, name), false)) {
      out.write(bytes);
    } catch (IOException e) {
      throw new UserError("cannot write " + name + " to " + shown() + ": " + oneLine(e), e);
    }
  }

  public void write(String name, String text) {
    write(name, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Puts the folder in place; an existing one (with --overwrite) is replaced as a whole, then deleted. */
  public void commit() {
    try {
      Path old = null;
      if (fs.exists(target)) {
        if (!overwrite) throw new UserError("output folder " + shown() + " appeared while the job ran; not replacing it");
        old = new Path(target.getParent(), ".qspark-old-" + target.getName() + "-" + UUID.randomUUID());
        rename(target, old);
      }
      // the target is absent here: on HDFS, renaming onto an existing folder would move into it
      rename(temp, target);
      committed = true;
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
  public void close() {
    if (!committed) {
      try {
        fs.delete(temp, true);
      } catch (IOException ignored) {
        // the hidden temp folder is harmless; the error that got us here matters more
      }
    }
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
    return temp.toString();
  }

  /** The target as the user reads it: local paths as paths, others as URIs. */
  public String shown() {
    return HadoopFiles.display(target);
  }

  private static String oneLine(IOException e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
