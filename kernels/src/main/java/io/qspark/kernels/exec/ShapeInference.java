package io.qspark.kernels.exec;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * Shapes of every value, by running the graph on zeros at batch 1 and batch 2: a dimension
 * that differs between the runs follows the batch and is reported as -1. Running the real ops
 * means shape rules are written once (in the ops) and that an inconsistent model fails here,
 * at load, with the failing node named.
 */
public final class ShapeInference {
  private ShapeInference() {}

  public static Map<String, int[]> infer(Graph graph) {
    Executor ex = new Executor(graph);
    Map<String, Tensor> one = ex.run(feeds(graph, 1), TensorObserver.NONE, true);
    Map<String, Tensor> two = ex.run(feeds(graph, 2), TensorObserver.NONE, true);
    Map<String, int[]> shapes = new HashMap<>();
    for (ValueInfo in : graph.inputs()) shapes.put(in.name(), in.shape());
    graph.initializers().forEach((k, v) -> shapes.put(k, v.shape()));
    one.forEach((name, t) -> {
      int[] a = t.shape();
      int[] b = two.get(name).shape();
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
              + " " + Tensor.shapeString(s) + "; only the batch (dimension 0) may be dynamic");
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
}
