package io.qspark.kernels.model;

import io.qspark.kernels.caffe.CaffeImporter;
import io.qspark.kernels.exec.ConstantFolding;
import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.passes.GatedActivations;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A float model ready to run: the imported graph with load-time constants folded, the shape of
 * every value, how it takes its batch ({@link BatchMode}), and where it came from (file digest
 * and format) so results can say what they were computed from.
 *
 * <p>Preparing a graph ({@link #prepare}): shapes by running it ({@link ShapeInference}),
 * constants and shape arithmetic folded ({@link ConstantFolding}), gated activations
 * recognized ({@link GatedActivations}), and a fixed batch freed where the graph allows it
 * ({@link FixedBatch}), else run in chunks. A model whose inputs leave dimensions other than
 * the batch dynamic (detectors exported for any image size) cannot be prepared until they are
 * given ({@link #withInputShapes}): until then it holds the imported graph, and asking for its
 * shapes or its inference graph fails with a message that says how to give them.
 */
public final class Model {
  private final Graph graph;
  private final Map<String, int[]> shapes;
  private final String source;
  private final String sha256;
  private final String format;
  private final BatchMode batch;
  /** The graph as imported (constants not folded): what {@link #withInputShapes} prepares again. */
  private final Graph imported;

  private Model(Graph graph, Map<String, int[]> shapes, String source, String sha256, String format, BatchMode batch,
      Graph imported) {
    this.graph = graph;
    this.shapes = shapes;
    this.source = source;
    this.sha256 = sha256;
    this.format = format;
    this.batch = batch;
    this.imported = imported;
  }

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
    if (!unresolved(graph).isEmpty()) return new Model(graph, null, source, sha256, format, null, graph);
    ShapeInference.Runs runs = ShapeInference.runs(graph);
    Graph g = GatedActivations.apply(ConstantFolding.apply(graph, runs));
    Map<String, int[]> shapes = g == graph ? ShapeInference.shapes(g, runs) : ShapeInference.infer(g);
    BatchMode mode = BatchMode.DYNAMIC;
    int fixed = fixedBatch(g);
    if (fixed > 0) {
      Graph freed = FixedBatch.free(g, fixed, shapes);
      if (freed != null) {
        g = freed;
        mode = new BatchMode(BatchMode.Kind.FREED, fixed);
      } else {
        g = g.withBatchChunk(fixed);
        mode = new BatchMode(BatchMode.Kind.CHUNKED, fixed);
      }
      shapes = ShapeInference.infer(g);
    } else if (fixed < 0) {
      mode = new BatchMode(BatchMode.Kind.FIXED, 0);
    }
    return new Model(g, shapes, source, sha256, format, mode, graph);
  }

  /**
   * The leading dimension all inputs were exported with: 0 when it is dynamic (any batch), -1
   * when the inputs disagree (fixed as exported).
   */
  private static int fixedBatch(Graph g) {
    int b = 0;
    for (ValueInfo in : g.inputs()) {
      int[] s = in.shape();
      if (s.length == 0 || s[0] < 0) return 0;
      if (b != 0 && s[0] != b) return -1;
      b = s[0];
    }
    return b;
  }

  /** The inputs as imported whose dimensions other than the batch the export left dynamic (negative): none once fixed. */
  public List<ValueInfo> dynamicInputs() {
    return unresolved(imported);
  }

  /** Inputs with a dynamic dimension other than the first (the batch). */
  private static List<ValueInfo> unresolved(Graph g) {
    List<ValueInfo> r = new ArrayList<>();
    for (ValueInfo in : g.inputs()) {
      int[] s = in.shape();
      for (int d = 1; d < s.length; d++) {
        if (s[d] < 0) {
          r.add(in);
          break;
        }
      }
    }
    return r;
  }

  /**
   * The same model with the given inputs' dimensions fixed, as Vitis AI's {@code input_shapes}:
   * for each named input every dimension but the first (the batch), e.g. images → {3, 320, 320}.
   * Dimensions the model fixes must be given as they are; the model is prepared again
   * (shapes, folding) for these sizes. Inputs not named keep their declared shape.
   */
  public Model withInputShapes(Map<String, int[]> dims) {
    Map<String, int[]> left = new LinkedHashMap<>(dims);
    List<ValueInfo> inputs = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (ValueInfo in : imported.inputs()) {
      int[] given = left.remove(in.name());
      int[] s = in.shape();
      if (given != null) {
        if (given.length != s.length - 1) {
          problems.add("input '" + in.name() + "' has " + s.length + " dimensions " + Tensor.shapeString(s) + ": give the "
              + (s.length - 1) + " after the batch, not " + given.length);
        } else {
          for (int d = 1; d < s.length; d++) {
            int v = given[d - 1];
            if (v <= 0) {
              problems.add("input '" + in.name() + "': dimension " + d + " must be positive, not " + v);
            } else if (s[d] >= 0 && s[d] != v) {
              problems.add("input '" + in.name() + "' is exported as " + Tensor.shapeString(s) + ": dimension " + d
                  + " is " + s[d] + ", not " + v);
            }
            s[d] = v;
          }
        }
      }
      inputs.add(new ValueInfo(in.name(), s));
    }
    if (!left.isEmpty()) {
      List<String> names = new ArrayList<>();
      for (ValueInfo in : imported.inputs()) names.add(in.name());
      problems.add("the model has no input " + String.join(", ", left.keySet().stream().map(n -> "'" + n + "'").toList())
          + " (its inputs: " + String.join(", ", names) + ")");
    }
    if (!problems.isEmpty()) throw new GraphException(source + ": " + String.join("; ", problems));
    return prepare(imported.withInputs(inputs), source, sha256, format);
  }

  /** The same model with BatchNorm folded and activations fused, as the DPU runs it. */
  public Model forInference() {
    requireShapes();
    Graph g = io.qspark.kernels.passes.InferencePasses.apply(graph);
    return g == graph ? this : new Model(g, ShapeInference.infer(g), source, sha256, format, batch, imported);
  }

  /** NaN or infinite weights make every downstream statistic meaningless: refuse them at load. */
  private static void checkFinite(Graph g, String source) {
    List<String> bad = new ArrayList<>();
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

  /** The graph: folded and ready to run, or as imported while input dimensions are unknown. */
  public Graph graph() {
    return graph;
  }

  /** Every value's shape, -1 for the batch. */
  public Map<String, int[]> shapes() {
    requireShapes();
    return shapes;
  }

  public int[] shape(String value) {
    int[] s = shapes().get(value);
    if (s == null) throw new GraphException("no shape known for '" + value + "'");
    return s.clone();
  }

  public String source() {
    return source;
  }

  public String sha256() {
    return sha256;
  }

  public String format() {
    return format;
  }

  /** How the model takes its batch. */
  public BatchMode batch() {
    requireShapes();
    return batch;
  }

  /** Whether every input dimension but the batch is known (else {@link #withInputShapes} first). */
  public boolean resolved() {
    return shapes != null;
  }

  /** Inputs whose dimensions other than the batch are dynamic, as the model declares them. */
  public List<ValueInfo> unresolvedInputs() {
    return unresolved(imported);
  }

  private void requireShapes() {
    if (shapes != null) return;
    List<String> each = new ArrayList<>();
    List<String> flags = new ArrayList<>();
    for (ValueInfo in : unresolved(imported)) {
      each.add("'" + in.name() + "' " + Tensor.shapeString(in.shape()));
      flags.add(in.name() + "=" + ShapeInference.dimsHint(in.shape()));
    }
    throw new GraphException(source + ": input" + (each.size() > 1 ? "s " : " ") + String.join(", ", each)
        + (each.size() > 1 ? " have" : " has") + " dynamic dimensions besides the batch; give them with --input-shape "
        + String.join(" --input-shape ", flags));
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
