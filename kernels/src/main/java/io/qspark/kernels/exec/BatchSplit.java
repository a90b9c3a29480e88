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
 * Data parallelism inside one process: the batch is cut into contiguous parts along axis 0
 * (every input at the same places), each part runs the whole graph on its own thread (with its
 * own BLAS/SIMD workspaces), and the outputs are concatenated back in order. Ops compute every
 * image independently, so the result is bit-identical to a single-threaded run.
 */
final class BatchSplit {
  private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "qspark-batch");
    t.setDaemon(true);
    return t;
  });

  private BatchSplit() {}

  /** The batch every feed shares along axis 0, or -1 when they do not share one. */
  static int batch(Map<String, Tensor> feeds) {
    int batch = -1;
    for (Tensor t : feeds.values()) {
      int n = t.rank() > 0 ? t.dim(0) : -1;
      if (n < 0 || batch >= 0 && n != batch) return -1;
      batch = n;
    }
    return batch;
  }

  /**
   * @param unit parts are cut at multiples of it (a graph's batch chunk; 1 for any batch)
   */
  static Map<String, Tensor> run(Executor ex, Map<String, Tensor> feeds, TensorObserver observer, int parts, int unit) {
    int units = batch(feeds) / unit;
    List<Future<Map<String, Tensor>>> futures = new ArrayList<>();
    for (int i = 0; i < parts; i++) {
      int from = (int) ((long) units * i / parts) * unit, to = (int) ((long) units * (i + 1) / parts) * unit;
      Map<String, Tensor> part = slice(feeds, from, to);
      futures.add(POOL.submit(() -> ex.runChunks(part, observer)));
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
    return concat(results);
  }

  /** Images [from, to) of every feed. */
  static Map<String, Tensor> slice(Map<String, Tensor> feeds, int from, int to) {
    Map<String, Tensor> part = new LinkedHashMap<>();
    feeds.forEach((k, t) -> part.put(k, t.slice0(from, to)));
    return part;
  }

  /** Each output's pieces joined along axis 0, in order. */
  static Map<String, Tensor> concat(List<Map<String, Tensor>> results) {
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
