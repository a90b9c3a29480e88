package io.qspark.kernels.onnx;

import io.qspark.kernels.graph.GraphException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Where an initializer's external data may live: a relative path inside the model's folder.
 * Absolute paths, '..' and links that lead out are refused, so a downloaded model cannot make
 * the job read arbitrary files (ONNX's own checker applies the same rule).
 */
public final class ExternalData {
  private ExternalData() {}

  public static Path resolve(Path modelDir, String location, String tensor) {
    if (location == null || location.isEmpty()) {
      throw new GraphException("initializer '" + tensor + "': external data without a location (the file it lives in)");
    }
    String what = "initializer '" + tensor + "': external data path '" + location + "'";
    if (modelDir == null) {
      throw new GraphException(what + " cannot be resolved: the model was not read from a folder");
    }
    Path rel;
    try {
      rel = Path.of(location);
    } catch (InvalidPathException e) {
      throw new GraphException(what + " is not a valid path");
    }
    if (rel.isAbsolute() || location.startsWith("/") || location.startsWith("\\")) {
      throw new GraphException(what + " is absolute; it must be relative to the model's folder");
    }
    for (Path part : rel) {
      if (part.toString().equals("..")) {
        throw new GraphException(what + " escapes the model's folder ('..' is not allowed)");
      }
    }
    Path base = modelDir.toAbsolutePath().normalize();
    Path file = base.resolve(rel).normalize();
    if (!Files.exists(file)) throw new GraphException(what + " does not exist (looked in " + base + ")");
    if (Files.isDirectory(file)) throw new GraphException(what + " is a folder, not a file");
    if (!Files.isRegularFile(file)) throw new GraphException(what + " is not a regular file (a pipe, socket or device)");
    try {
      Path realBase = base.toRealPath();
      Path real = file.toRealPath();
      if (!real.startsWith(realBase)) {
        throw new GraphException(what + " escapes the model's folder through a link to " + real);
      }
      return real;
    } catch (IOException e) {
      throw new GraphException(what + ": " + e.getMessage());
    }
  }
}
