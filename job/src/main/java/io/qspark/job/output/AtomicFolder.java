package io.qspark.job.output;

import io.qspark.job.UserError;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * An output folder that appears whole or not at all: files go into a hidden sibling, which is
 * renamed onto the target only when everything is written. A crashed or killed job leaves at
 * most a ".qspark-tmp-*" folder, never a half-written model where a later task (a retried
 * Airflow run, deploy) would pick it up.
 */
public final class AtomicFolder implements AutoCloseable {
  private final Path target;
  private final Path temp;
  private final boolean overwrite;
  private boolean committed;

  private AtomicFolder(Path target, Path temp, boolean overwrite) {
    this.target = target;
    this.temp = temp;
    this.overwrite = overwrite;
  }

  /** Checks the target can be written (before any work is spent) and opens the temporary folder. */
  public static AtomicFolder begin(Path target, boolean overwrite) {
    Path abs = target.toAbsolutePath().normalize();
    if (Files.exists(abs) && !overwrite) {
      throw new UserError("output folder " + target + " already exists; choose another --out or pass --overwrite");
    }
    if (Files.exists(abs) && !Files.isDirectory(abs)) throw new UserError(target + " exists and is not a folder");
    Path parent = abs.getParent();
    try {
      Files.createDirectories(parent);
      Path temp = Files.createDirectory(parent.resolve(".qspark-tmp-" + abs.getFileName() + "-" + UUID.randomUUID()));
      return new AtomicFolder(abs, temp, overwrite);
    } catch (IOException e) {
      throw new UserError("cannot create output folder beside " + target + ": " + e.getMessage(), e);
    }
  }

  public void write(String name, byte[] bytes) {
    try {
      Files.write(temp.resolve(name), bytes);
    } catch (IOException e) {
      throw new UserError("cannot write " + name + " to " + target + ": " + e.getMessage(), e);
    }
  }

  public void write(String name, String text) {
    write(name, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** Puts the folder in place; an existing one (with --overwrite) is replaced, then deleted. */
  public void commit() {
    try {
      Path old = null;
      if (Files.exists(target)) {
        if (!overwrite) throw new UserError("output folder " + target + " appeared while the job ran; not replacing it");
        old = target.resolveSibling(".qspark-old-" + target.getFileName() + "-" + UUID.randomUUID());
        move(target, old);
      }
      move(temp, target);
      committed = true;
      if (old != null) delete(old);
    } catch (IOException e) {
      throw new UserError("cannot move the output into place at " + target + ": " + e.getMessage(), e);
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("the file system cannot rename " + from + " atomically", e);
    }
  }

  /** Without a commit, the temporary folder is removed: nothing is left behind. */
  @Override
  public void close() {
    if (!committed) {
      try {
        delete(temp);
      } catch (IOException ignored) {
        // the hidden temp folder is harmless; the error that got us here matters more
      }
    }
  }

  private static void delete(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }

  public Path target() {
    return target;
  }
}
