package io.qspark.kernels.exec;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.ops.Op;
import io.qspark.kernels.ops.OpException;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a graph on a batch: one op per node, in topological order, with an optional observer
 * that sees (and may replace) each value. Intermediate values are released after their last
 * reader unless the caller keeps them (training needs them for the backward pass).
 * Ops are stateless, so one executor may be used from several threads.
 */
public final class Executor {
  private final Graph graph;
  private final Op[] ops;
  /** For each node, the values whose last reader it is. */
  private final List<List<String>> releaseAfter;

  private final int threads;

  public Executor(Graph graph) {
    this(graph, 1);
  }

  /**
   * @param threads how many parts a batch is split into along axis 0 and run concurrently.
   *     Spark runs one task per core, so executors use 1; a single process (bin/qspark on one
   *     partition, benchmarks) uses the cores. Per-image results do not depend on it.
   */
  public Executor(Graph graph, int threads) {
    if (threads < 1) throw new IllegalArgumentException("threads must be >= 1");
    this.threads = threads;
    this.graph = graph;
    List<Node> nodes = graph.nodes();
    List<String> unsupported = new ArrayList<>();
    for (Node n : nodes) {
      if (!OpRegistry.supports(n)) {
        unsupported.add(n.describe() + (n.domain().isEmpty() ? "" : " [domain " + n.domain() + "]"));
      }
    }
    if (!unsupported.isEmpty()) {
      throw new GraphException(unsupported.size() + " unsupported op" + (unsupported.size() > 1 ? "s" : "")
          + ": " + String.join(", ", unsupported));
    }
    this.ops = new Op[nodes.size()];
    for (int i = 0; i < ops.length; i++) ops[i] = OpRegistry.create(nodes.get(i));
    Map<String, Integer> last = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) for (String in : nodes.get(i).inputs()) last.put(in, i);
    this.releaseAfter = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) releaseAfter.add(new ArrayList<>());
    last.forEach((v, i) -> {
      if (!graph.outputs().contains(v) && !graph.initializers().containsKey(v)) releaseAfter.get(i).add(v);
    });
  }

  public Graph graph() {
    return graph;
  }

  public Op op(int nodeIndex) {
    return ops[nodeIndex];
  }

  /** The graph's outputs for one input feed per graph input. */
  public Map<String, Tensor> run(Map<String, Tensor> feeds) {
    return run(feeds, TensorObserver.NONE);
  }

  /**
   * The graph's outputs; with threads > 1 the batch is split and the observer is called from
   * several threads at once, each time with its part of the batch.
   */
  public Map<String, Tensor> run(Map<String, Tensor> feeds, TensorObserver observer) {
    int batch = BatchSplit.batch(feeds);
    int chunk = graph.batchChunk();
    checkChunks(batch);
    int unit = Math.max(1, chunk);
    int parts = batch < 0 ? 1 : Math.min(threads, batch / unit);
    if (parts < 2) return runChunks(feeds, observer);
    return BatchSplit.run(this, feeds, observer, parts, unit);
  }

  private void checkChunks(int batch) {
    int chunk = graph.batchChunk();
    if (chunk > 0 && batch > 0 && batch % chunk != 0) {
      throw new GraphException("the model was exported with a fixed batch of " + chunk + " that its graph does not"
          + " let be freed (it mixes the images), so it runs batches that are multiples of " + chunk + ", not " + batch);
    }
  }

  /**
   * One thread: the whole batch, or for a graph with a {@link Graph#batchChunk()} one chunk
   * after another, the outputs concatenated along axis 0.
   */
  Map<String, Tensor> runChunks(Map<String, Tensor> feeds, TensorObserver observer) {
    int chunk = graph.batchChunk();
    int batch = BatchSplit.batch(feeds);
    checkChunks(batch);
    if (chunk == 0 || batch <= chunk) return runOnce(feeds, observer, false);
    List<Map<String, Tensor>> results = new ArrayList<>();
    for (int from = 0; from < batch; from += chunk) results.add(runOnce(BatchSplit.slice(feeds, from, from + chunk), observer, false));
    return BatchSplit.concat(results);
  }

  /** Convenience for single-input, single-output models. */
  public Tensor run(Tensor input) {
    if (graph.inputs().size() != 1 || graph.outputs().size() != 1) {
      throw new GraphException("model has " + graph.inputs().size() + " inputs and "
          + graph.outputs().size() + " outputs; name them");
    }
    return run(Map.of(graph.inputs().get(0).name(), input)).get(graph.outputs().get(0));
  }

  /**
   * @param keepAll return every value computed (inputs and initializers excluded), not only
   *     the graph outputs
   */
  public Map<String, Tensor> run(Map<String, Tensor> feeds, TensorObserver observer, boolean keepAll) {
    // a batch-chunked graph's outputs come chunk by chunk; every value at once needs one chunk
    if (!keepAll && graph.batchChunk() > 0) return runChunks(feeds, observer);
    return runOnce(feeds, observer, keepAll);
  }

  /**
   * The graph's outputs, taking the values in {@code given} as computed: a node runs only when
   * one of its outputs is not given, and a given graph input is used as it is (the observer is
   * not called for given values). For runs of a graph that differ from an earlier run in part
   * only: {@code given} holds that run's values (its {@code keepAll} result, observer applied)
   * that this run would compute the same, the caller's guarantee. One thread, one chunk.
   */
  public Map<String, Tensor> run(Map<String, Tensor> feeds, TensorObserver observer, Map<String, Tensor> given) {
    return run(feeds, observer, false, given);
  }

  private Map<String, Tensor> runOnce(Map<String, Tensor> feeds, TensorObserver observer, boolean keepAll) {
    return run(feeds, observer, keepAll, Map.of());
  }

  private Map<String, Tensor> run(Map<String, Tensor> feeds, TensorObserver observer, boolean keepAll,
      Map<String, Tensor> given) {
    if (keepAll || observer.retainsValues() || !ARENA) return run(feeds, observer, keepAll, given, null);
    Arena arena = Arena.current();
    arena.open();
    try {
      return run(feeds, observer, false, given, arena);
    } finally {
      arena.close();
    }
  }

  /**
   * Whether forwards whose observer keeps no values take their op outputs from the thread's
   * {@link Arena} (-Dqspark.arena=false turns it off; tests and benches compare both).
   */
  private static volatile boolean ARENA = !"false".equals(System.getProperty("qspark.arena"));

  /** For tests and benches: the arena on or off for every executor, returning the old setting. */
  public static boolean useArena(boolean on) {
    boolean was = ARENA;
    ARENA = on;
    return was;
  }

  /**
   * @param arena when not null, op outputs come from it, and an output array goes back to it
   *     once no value in the table references it any more (counted by array identity: Reshape,
   *     Flatten and the like share their input's array); only arrays it handed out in this
   *     scope are ever given back, never initializers, feeds, given values or graph outputs
   */
  private Map<String, Tensor> run(Map<String, Tensor> feeds, TensorObserver observer, boolean keepAll,
      Map<String, Tensor> given, Arena arena) {
    IdentityHashMap<float[], int[]> refs = arena == null ? null : new IdentityHashMap<>();
    Map<String, Tensor> values = new HashMap<>(graph.initializers());
    for (ValueInfo in : graph.inputs()) {
      Tensor known = given.get(in.name());
      if (known != null) {
        values.put(in.name(), known);
        continue;
      }
      Tensor t = feeds.get(in.name());
      if (t == null) throw new GraphException("no value fed for graph input '" + in.name() + "'");
      checkShape(in, t);
      values.put(in.name(), observer.onValue(null, in.name(), t));
    }
    if (refs != null) {
      // never given back, even where an op's output shares their array (nested runs)
      for (ValueInfo in : graph.inputs()) pin(values.get(in.name()), refs);
      for (Tensor t : given.values()) pin(t, refs);
    }
    Map<String, Tensor> kept = keepAll ? new LinkedHashMap<>() : null;
    List<Node> nodes = graph.nodes();
    for (int i = 0; i < nodes.size(); i++) {
      Node node = nodes.get(i);
      if (!given.isEmpty() && allGiven(node, given)) {
        for (String name : node.outputs()) {
          if (name.isEmpty()) continue;
          values.put(name, given.get(name));
          if (kept != null) kept.put(name, given.get(name));
        }
        if (kept == null) {
          for (String v : releaseAfter.get(i)) {
            Tensor t = values.remove(v);
            if (refs != null) drop(t, refs, arena);
          }
        }
        continue;
      }
      Tensor[] args = new Tensor[node.inputs().size()];
      for (int j = 0; j < args.length; j++) {
        String name = node.inputs().get(j);
        args[j] = name.isEmpty() ? null : values.get(name);
      }
      Tensor[] outs;
      try {
        outs = ops[i].forward(args);
      } catch (GraphException e) {
        String msg = e.getMessage();
        throw new GraphException(msg.startsWith("node ") ? msg : "node " + node.describe() + ": " + msg, e);
      } catch (RuntimeException e) {
        throw new GraphException("node " + node.describe() + " failed on inputs "
            + shapes(args) + ": " + e, e);
      }
      for (int j = 0; j < node.outputs().size(); j++) {
        String name = node.outputs().get(j);
        if (name.isEmpty() || j >= outs.length) continue;
        Tensor t = observer.onValue(node, name, outs[j]);
        Tensor before = values.put(name, t);
        if (refs != null) {
          drop(before, refs, arena);
          hold(t, refs, arena);
        }
        if (kept != null) kept.put(name, t);
      }
      if (kept == null) {
        for (String v : releaseAfter.get(i)) {
          Tensor t = values.remove(v);
          if (refs != null) drop(t, refs, arena);
        }
      }
    }
    if (kept != null) return Collections.unmodifiableMap(kept);
    Map<String, Tensor> result = new LinkedHashMap<>();
    for (String o : graph.outputs()) result.put(o, values.get(o));
    if (refs != null) {
      // values no node reads (unused outputs) go back too, unless a graph output shares the array
      for (Tensor t : result.values()) if (t != null && t.isFloat()) refs.remove(t.data());
      for (Map.Entry<String, Tensor> e : values.entrySet()) {
        if (!result.containsKey(e.getKey())) drop(e.getValue(), refs, arena);
      }
    }
    return result;
  }

  /** t's array is never given back in this run: a count that never falls to zero. */
  private static void pin(Tensor t, IdentityHashMap<float[], int[]> refs) {
    if (t != null && t.isFloat()) refs.put(t.data(), new int[] {Integer.MAX_VALUE / 2});
  }

  /** Counts one more value on t's array when the arena handed that array out. */
  private static void hold(Tensor t, IdentityHashMap<float[], int[]> refs, Arena arena) {
    if (t == null || !t.isFloat()) return;
    float[] a = t.data();
    int[] c = refs.get(a);
    if (c != null) {
      c[0]++;
    } else if (arena.owns(a)) {
      refs.put(a, new int[] {1});
    }
  }

  /** One value fewer on t's array; the arena gets the array back when none is left. */
  private static void drop(Tensor t, IdentityHashMap<float[], int[]> refs, Arena arena) {
    if (t == null || !t.isFloat()) return;
    float[] a = t.data();
    int[] c = refs.get(a);
    if (c == null || --c[0] > 0) return;
    refs.remove(a);
    arena.release(a);
  }

  private static boolean allGiven(Node node, Map<String, Tensor> given) {
    for (String name : node.outputs()) if (!name.isEmpty() && !given.containsKey(name)) return false;
    return true;
  }

  private static String shapes(Tensor[] args) {
    List<String> s = new ArrayList<>();
    for (Tensor t : args) s.add(t == null ? "-" : Tensor.shapeString(t.shape()));
    return String.join(" ", s);
  }

  private static void checkShape(ValueInfo in, Tensor t) {
    int[] want = in.shape();
    int[] got = t.shape();
    boolean ok = want.length == 0 || want.length == got.length;
    for (int d = 0; ok && d < want.length; d++) ok = want[d] < 0 || want[d] == got[d];
    if (!ok) {
      throw new OpException("input '" + in.name() + "' expects shape " + Tensor.shapeString(want)
          + ", got " + Tensor.shapeString(got));
    }
  }
}
