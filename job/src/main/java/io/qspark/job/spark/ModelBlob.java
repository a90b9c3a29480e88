package io.qspark.job.spark;

import io.qspark.kernels.onnx.SelfContained;
import java.io.Serializable;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A model as it travels to executors: the ONNX bytes (external tensors inlined, since executors
 * do not see the model's folder), named for errors and keyed by digest for the per-JVM cache.
 */
public record ModelBlob(String name, String sha256, byte[] onnx) implements Serializable {

  public static ModelBlob of(Path file) {
    byte[] bytes = SelfContained.bytes(file);
    return new ModelBlob(file.toString(), sha256(bytes), bytes);
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
