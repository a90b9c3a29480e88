package io.qspark.job.model;

import io.qspark.kernels.caffe.CaffeImporter;
import io.qspark.kernels.onnx.SelfContained;
import java.io.Serializable;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A model as it travels to executors: the ONNX bytes (external tensors inlined, since executors
 * do not see the model's folder), named for errors and keyed by digest for the per-JVM cache;
 * for a calibrated model also its quant_info.json, which makes executors run it fake-quantized.
 */
public record ModelBlob(String name, String sha256, byte[] onnx, String quantInfo) implements Serializable {

  /** An ONNX file, or a Caffe prototxt with the .caffemodel of the same name beside it. */
  public static ModelBlob of(Path file) {
    if (CaffeImporter.isPrototxt(file)) return ofCaffe(file, CaffeImporter.weightsBeside(file));
    byte[] bytes = SelfContained.bytes(file);
    return new ModelBlob(file.toString(), sha256(bytes), bytes, null);
  }

  /** A Caffe model converted to ONNX on the driver: executors then need only the ONNX importer. */
  public static ModelBlob ofCaffe(Path prototxt, Path caffemodel) {
    return of(prototxt.toString(), CaffeImporter.onnxBytes(CaffeImporter.load(prototxt, caffemodel)));
  }

  /** A model made in memory (a converted Caffe model, an equalized graph), named for messages. */
  public static ModelBlob of(String name, byte[] onnx) {
    return new ModelBlob(name, sha256(onnx), onnx, null);
  }

  /** The same float model, run with the fix_points of a calibration. */
  public ModelBlob quantized(String quantInfoJson) {
    return new ModelBlob(name, sha256, onnx, quantInfoJson);
  }

  /** Cache key: the model and, if any, the quantization. */
  public String key() {
    return quantInfo == null ? sha256 : sha256 + "/" + sha256(quantInfo.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
