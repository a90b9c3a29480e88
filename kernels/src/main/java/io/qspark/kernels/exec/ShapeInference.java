package io.qspark.kernels.exec;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Shapes of every value, by running the graph on zeros at batch 1 and batch 2: a dimension
 * that differs between the runs follows the batch and is reported as -1. Running the real ops
 * means shape rules are written once (in the ops) and that an inconsistent model fails here,
 * at load, with the failing node named.
 */
public final class ShapeInference {
  private ShapeInference() {}

  /**
   * Every value of the two runs (graph inputs included, initializers not): what constant
   * folding reads to tell values that follow the batch from constants.
   */
  public record Runs(Map<String, Tensor> one, Map<String, Tensor> two) {
    /** The value's shape in the run at batch 1 (b = 1) or batch 2 (b = 2). */
    public int[] shape(String value, int b) {
      Tensor t = (b == 1 ? one : two).get(value);
      return t == null ? null : t.shape();
    }
  }

  public static Map<String, int[]> infer(Graph graph) {
    return shapes(graph, runs(graph));
  }

  public static Runs runs(Graph graph) {
    Executor ex = new Executor(graph);
    return new Runs(run(ex, graph, 1), run(ex, graph, 2));
  }

  private static Map<String, Tensor> run(Executor ex, Graph graph, int batch) {
    Map<String, Tensor> feeds = feeds(graph, batch);
    Map<String, Tensor> all = new LinkedHashMap<>(feeds);
    all.putAll(ex.run(feeds, TensorObserver.NONE, true));
    return all;
  }

  /** The shapes of two runs merged: -1 where they differ. */
  public static Map<String, int[]> shapes(Graph graph, Runs runs) {
    Map<String, int[]> shapes = new HashMap<>();
    graph.initializers().forEach((k, v) -> shapes.put(k, v.shape()));
    for (ValueInfo in : graph.inputs()) shapes.put(in.name(), in.shape());
    runs.one().forEach((name, t) -> {
      if (graph.isInput(name)) return;
      int[] a = t.shape();
      int[] b = runs.two().get(name).shape();
      if (a.length != b.length) {
        throw new GraphException("value '" + name + "' changes rank with the batch size");
      }
      for (int d = 0; d < a.length; d++) if (a[d] != b[d]) a[d] = -1;
      shapes.put(name, a);
    });
    return shapes;
  }

  private static Map<String, Tensor> feeds(Graph graph, int batch) {
    Map<String, Tensor> f = new HashMap<>();
    for (ValueInfo in : graph.inputs()) {
      int[] s = in.shape();
      if (s.length == 0) throw new GraphException("graph input '" + in.name() + "' has no declared shape");
      for (int d = 0; d < s.length; d++) {
        if (s[d] < 0 && d > 0) {
          throw new GraphException("graph input '" + in.name() + "' has dynamic dimension " + d
              + " " + Tensor.shapeString(s) + "; only the batch (dimension 0) may be dynamic"
              + " (give the others with --input-shape " + in.name() + "=" + dimsHint(s) + ")");
        }
        if (s[d] < 0) s[d] = batch;
      }
      long n = 1;
      for (int d : s) n = Math.min(n * d, Integer.MAX_VALUE + 1L); // capped: no overflow
      if (n > Integer.MAX_VALUE) {
        throw new GraphException("graph input '" + in.name() + "' of shape " + Tensor.shapeString(in.shape())
            + " holds more than 2^31 - 1 values at batch " + batch + ", more than a tensor can");
      }
      f.put(in.name(), Tensor.zeros(s));
    }
    return f;
  }

  /** "3,H,W" for [N,3,-1,-1]: what --input-shape wants for this input. */
  public static String dimsHint(int[] s) {
    StringBuilder b = new StringBuilder();
    for (int d = 1; d < s.length; d++) {
      if (d > 1) b.append(',');
      b.append(s[d] >= 0 ? Integer.toString(s[d]) : d == s.length - 2 ? "H" : d == s.length - 1 ? "W" : "D" + d);
    }
    return b.toString();
  }
}
