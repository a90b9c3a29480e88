package io.qspark.kernels.model;

import io.qspark.kernels.caffe.CaffeImporter;
import io.qspark.kernels.exec.ConstantFolding;
import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.onnx.OnnxImporter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * A float model ready to run: the imported graph with load-time constants folded, the shape of
 * every value, and where it came from (file digest and format) so results can say what they
 * were computed from.
 */
public record Model(Graph graph, Map<String, int[]> shapes, String source, String sha256,
    String format) {

  /** Loads an ONNX file, or a Caffe deploy .prototxt with the .caffemodel of the same name beside it. */
  public static Model load(Path file) {
    if (CaffeImporter.isPrototxt(file)) return loadCaffe(file, CaffeImporter.weightsBeside(file));
    OnnxImporter.Imported imp = OnnxImporter.load(file);
    return prepare(imp.graph(), file.toString(), digest(file), "onnx opset " + imp.opset());
  }

  /** A Caffe deploy prototxt and its trained weights; the digest covers both files. */
  public static Model loadCaffe(Path prototxt, Path caffemodel) {
    CaffeImporter.Imported imp = CaffeImporter.load(prototxt, caffemodel);
    return prepare(imp.graph(), prototxt.toString(), digest(prototxt, caffemodel), "caffe");
  }

  public static Model prepare(Graph graph, String source, String sha256, String format) {
    checkFinite(graph, source);
    Map<String, int[]> shapes = ShapeInference.infer(graph);
    Graph folded = ConstantFolding.apply(graph, shapes);
    if (folded != graph) shapes = ShapeInference.infer(folded);
    return new Model(folded, shapes, source, sha256, format);
  }

  /** The same model with BatchNorm folded and activations fused, as the DPU runs it. */
  public Model forInference() {
    Graph g = io.qspark.kernels.passes.InferencePasses.apply(graph);
    return g == graph ? this : new Model(g, ShapeInference.infer(g), source, sha256, format);
  }

  /** NaN or infinite weights make every downstream statistic meaningless: refuse them at load. */
  private static void checkFinite(Graph g, String source) {
    java.util.List<String> bad = new java.util.ArrayList<>();
    g.initializers().forEach((name, t) -> {
      if (!t.isFloat()) return;
      int n = 0;
      for (float v : t.data()) if (!Float.isFinite(v)) n++;
      if (n > 0) bad.add("'" + name + "' (" + n + " of " + t.size() + ")");
    });
    if (!bad.isEmpty()) {
      throw new GraphException(source + ": weights with NaN or infinite values: " + String.join(", ", bad));
    }
  }

  public int[] shape(String value) {
    int[] s = shapes.get(value);
    if (s == null) throw new GraphException("no shape known for '" + value + "'");
    return s.clone();
  }

  static String digest(Path... files) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (Path file : files) md.update(Files.readAllBytes(file));
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new GraphException("cannot read " + java.util.Arrays.toString(files) + ": " + e.getMessage());
    }
  }
}
