package io.qspark.job.output;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;

/**
 * A hidden temporary folder ".qspark-tmp-NAME-UUID" that a run fills before renaming it into
 * place, held by a lock file beside it (".qspark-tmp-NAME-UUID.lock") for as long as the run
 * lives: an OS file lock on the local disk (released by the OS when the process dies, however
 * it dies), an open file on HDFS (its lease ends with the writer; the name node recovers a dead
 * writer's lease within the hour). A run that finds a temporary folder whose lock nobody holds,
 * and that is older than the run, knows it was left by a run that died, and removes it. On file
 * systems without either (object stores) nothing is removed: the lock cannot be told from a
 * live run's.
 */
final class Staging {
  static final String PREFIX = ".qspark-tmp-";
  static final String LOCK = ".lock";

  /** The process's start: temporary folders last written before it cannot be this run's. */
  private static final long RUN_START = ManagementFactory.getRuntimeMXBean().getStartTime();

  private final FileSystem fs;
  private final Path dir;
  private final Path lockPath;
  private FileChannel channel;
  private FileLock lock;
  private OutputStream held;

  private Staging(FileSystem fs, Path dir) {
    this.fs = fs;
    this.dir = dir;
    this.lockPath = new Path(dir.getParent(), dir.getName() + LOCK);
  }

  /** Takes the lock, then creates the folder (so no one sees the folder unlocked). */
  static Staging create(FileSystem fs, Path parent, String name) throws IOException {
    Staging s = new Staging(fs, new Path(parent, PREFIX + name + "-" + UUID.randomUUID()));
    fs.mkdirs(parent);
    s.acquire();
    try {
      if (!fs.mkdirs(s.dir)) throw new IOException("mkdirs " + s.dir + " failed");
    } catch (IOException | RuntimeException e) {
      s.release();
      throw e;
    }
    return s;
  }

  Path dir() {
    return dir;
  }

  private void acquire() throws IOException {
    java.nio.file.Path local = local(lockPath);
    if (local != null) {
      channel = FileChannel.open(local, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      lock = channel.tryLock();
      if (lock == null) throw new IOException("cannot lock " + local);
    } else {
      // open for writing, never closed while the run lives: on HDFS the lease is the lock
      held = fs.create(lockPath, false);
    }
  }

  /** Lets go of the lock and removes the lock file (the folder is committed or deleted already). */
  void release() {
    try {
      if (lock != null) lock.release();
      if (channel != null) channel.close();
      if (held != null) held.close();
    } catch (IOException ignored) {
      // the lock file is removed below or, failing that, by the next run: it holds no data
    }
    lock = null;
    channel = null;
    held = null;
    try {
      fs.delete(lockPath, false);
    } catch (IOException ignored) {
      // an unheld lock file marks the folder (already gone) as a dead run's: harmless
    }
  }

  /** Deletes the folder and lets go of the lock. */
  void discard() {
    try {
      fs.delete(dir, true);
    } catch (IOException ignored) {
      // a hidden leftover that the next run removes; the error that brought us here matters more
    } finally {
      release();
    }
  }

  /** The local file behind a path on the local disk, or null for other file systems. */
  private static java.nio.file.Path local(Path p) {
    return "file".equals(p.toUri().getScheme()) ? java.nio.file.Path.of(p.toUri().getPath()) : null;
  }

  private enum LockState { HELD, FREE, UNKNOWN }

  private static LockState state(FileSystem fs, Path lock) {
    java.nio.file.Path local = local(lock);
    try {
      if (!fs.exists(lock)) return local != null || fs instanceof DistributedFileSystem ? LockState.FREE : LockState.UNKNOWN;
      if (local != null) {
        try (FileChannel c = FileChannel.open(local, StandardOpenOption.WRITE)) {
          FileLock l = c.tryLock();
          if (l == null) return LockState.HELD;
          l.release();
          return LockState.FREE;
        } catch (OverlappingFileLockException e) {
          return LockState.HELD; // this JVM holds it: a run in this process
        } catch (NoSuchFileException e) {
          return LockState.FREE;
        }
      }
      if (fs instanceof DistributedFileSystem d) return d.isFileClosed(lock) ? LockState.FREE : LockState.HELD;
      return LockState.UNKNOWN;
    } catch (IOException e) {
      return LockState.UNKNOWN;
    }
  }

  /**
   * Removes the temporary folders in {@code parent} left by runs that died: no one holds their
   * lock, and (without a lock file, as before locks existed) they were last written before this
   * run started. Returns one line per folder removed, for the user.
   */
  static List<String> removeStale(FileSystem fs, Path parent) {
    List<String> notes = new ArrayList<>();
    FileStatus[] all;
    try {
      if (!fs.isDirectory(parent)) return notes;
      all = fs.listStatus(parent);
    } catch (IOException e) {
      return notes;
    }
    for (FileStatus s : all) {
      String n = s.getPath().getName();
      if (!s.isDirectory() || !n.startsWith(PREFIX)) continue;
      Path lock = new Path(parent, n + LOCK);
      LockState st = state(fs, lock);
      if (st != LockState.FREE) continue;
      boolean hadLock;
      try {
        hadLock = fs.exists(lock);
      } catch (IOException e) {
        continue;
      }
      if (!hadLock && s.getModificationTime() >= RUN_START) continue;
      try {
        if (fs.delete(s.getPath(), true)) {
          fs.delete(lock, false);
          notes.add("removed " + io.qspark.job.data.HadoopFiles.display(s.getPath()) + ", left by a run that did not finish (last written "
              + Instant.ofEpochMilli(s.getModificationTime()) + ")");
        }
      } catch (IOException e) {
        // someone else's to clean up, or the next run's
      }
    }
    return notes;
  }
}
