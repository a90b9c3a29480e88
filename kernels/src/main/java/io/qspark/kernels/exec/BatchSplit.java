package io.qspark.kernels.exec;

import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Data parallelism inside one process: the batch is cut into contiguous parts along axis 0,
 * each part runs the whole graph on its own thread (with its own BLAS/SIMD workspaces), and
 * the outputs are concatenated back in order. Ops compute every image independently, so the
 * result is bit-identical to a single-threaded run.
 */
final class BatchSplit {
  private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "qspark-batch");
    t.setDaemon(true);
    return t;
  });

  private BatchSplit() {}

  static Map<String, Tensor> run(Executor ex, Map<String, Tensor> feeds, TensorObserver observer, int parts) {
    String name = feeds.keySet().iterator().next();
    Tensor x = feeds.get(name);
    int n = x.dim(0);
    List<Future<Map<String, Tensor>>> futures = new ArrayList<>();
    for (int i = 0; i < parts; i++) {
      int from = (int) ((long) n * i / parts), to = (int) ((long) n * (i + 1) / parts);
      Tensor part = x.slice0(from, to);
      futures.add(POOL.submit(() -> ex.run(Map.of(name, part), observer, false)));
    }
    List<Map<String, Tensor>> results = new ArrayList<>();
    try {
      for (Future<Map<String, Tensor>> f : futures) results.add(f.get());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new GraphException("interrupted", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw new GraphException(e.getCause().toString(), e.getCause());
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (String o : results.get(0).keySet()) {
      List<Tensor> pieces = new ArrayList<>();
      for (Map<String, Tensor> r : results) pieces.add(r.get(o));
      out.put(o, concat0(pieces));
    }
    return out;
  }

  static Tensor concat0(List<Tensor> pieces) {
    int[] shape = pieces.get(0).shape();
    int total = 0;
    int rows = 0;
    for (Tensor t : pieces) {
      total += t.size();
      rows += t.dim(0);
    }
    shape[0] = rows;
    if (pieces.get(0).isFloat()) {
      float[] d = new float[total];
      int off = 0;
      for (Tensor t : pieces) {
        System.arraycopy(t.data(), 0, d, off, t.size());
        off += t.size();
      }
      return Tensor.of(d, shape);
    }
    long[] d = new long[total];
    int off = 0;
    for (Tensor t : pieces) {
      System.arraycopy(t.longs(), 0, d, off, t.size());
      off += t.size();
    }
    return Tensor.ofLongs(d, shape);
  }
}
