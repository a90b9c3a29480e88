package io.qspark.job.output;

import io.qspark.job.base.UserError;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** A single output file that appears whole or not at all: written beside, then renamed onto the target. */
public final class AtomicFile {
  private AtomicFile() {}

  /** Checks before any work is spent that the target may be written. */
  public static void checkWritable(Path target, boolean overwrite) {
    if (Files.isDirectory(target)) throw new UserError(target + " is a folder, not a file");
    if (Files.exists(target) && !overwrite) {
      throw new UserError("output file " + target + " already exists; choose another name or pass --overwrite");
    }
  }

  public static void write(Path target, byte[] bytes, boolean overwrite) {
    checkWritable(target, overwrite);
    Path abs = target.toAbsolutePath().normalize();
    Path temp = abs.resolveSibling(".qspark-tmp-" + java.util.UUID.randomUUID() + "-" + abs.getFileName());
    try {
      Files.createDirectories(abs.getParent());
      Files.write(temp, bytes);
      try {
        Files.move(temp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // the write failed already; that is the error to report
      }
      throw new UserError("cannot write " + target + ": " + e.getMessage(), e);
    }
  }
}
