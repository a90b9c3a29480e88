package io.qspark.kernels.train;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.FakeQuant;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Reverse-mode differentiation of a graph: a forward pass with the inference ops that keeps
 * every value (fake-quantizing the values and initializers a quantizer names, as QAT and
 * fine-tuning see the model), then the nodes' backward kernels in reverse topological order,
 * summing gradients where a value has several readers (a value read by two branches, weights
 * shared by two convs) in that reverse node order, a fixed order, so every run adds them up to
 * the same bits. Ops with several outputs (Split) get the gradient of each. Fake-quant is
 * differentiated with the straight-through estimator, clipped at the quantization range.
 */
public final class Backprop {
  /** Ops whose every output value is one of their first input's values or zero. */
  private static final Set<String> VALUE_PRESERVING = Set.of("Relu", "MaxPool", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
      "Transpose", "Identity");

  private final Graph graph;
  private final Executor executor;
  private final OpGrad[] grads;

  private final Set<String> noGradient;
  private final boolean[] differentiated;
  private volatile OpTimer timer;

  /** Receives the wall time of each node's forward kernel (with its fake-quant) and backward kernel: for profiles. */
  public interface OpTimer {
    void record(Node node, boolean backward, long nanos);
  }

  public Backprop(Graph graph) {
    this(graph, Set.of());
  }

  /**
   * @param noGradient graph inputs whose gradient nobody wants (the input images): kernels may
   *     skip computing it, and nodes that read nothing but such inputs and int64 constants
   *     (preprocessing, shape arithmetic) get no backward pass at all
   */
  public Backprop(Graph graph, Set<String> noGradient) {
    this.graph = graph;
    this.noGradient = Set.copyOf(noGradient);
    this.executor = new Executor(graph);
    this.grads = new OpGrad[graph.nodes().size()];
    this.differentiated = differentiated(graph, this.noGradient);
  }

  /**
   * Which nodes the backward pass runs: those reading a value computed from a float initializer
   * or from a graph input whose gradient is wanted.
   */
  private static boolean[] differentiated(Graph g, Set<String> noGradient) {
    Set<String> wanted = new HashSet<>();
    g.initializers().forEach((k, v) -> {
      if (v.isFloat()) wanted.add(k);
    });
    for (var in : g.inputs()) if (!noGradient.contains(in.name())) wanted.add(in.name());
    List<Node> nodes = g.nodes();
    boolean[] r = new boolean[nodes.size()];
    for (int i = 0; i < r.length; i++) {
      for (String in : nodes.get(i).inputs()) r[i] |= wanted.contains(in);
      if (r[i]) wanted.addAll(nodes.get(i).outputs());
    }
    return r;
  }

  /**
   * The nodes the backward pass would run that have no gradient ({@link GradRegistry}),
   * described, in graph order: to refuse a model for training naming every such op at once.
   */
  public static List<String> unsupported(Graph g, Set<String> noGradient) {
    boolean[] d = differentiated(g, noGradient);
    List<String> r = new java.util.ArrayList<>();
    for (int i = 0; i < d.length; i++) if (d[i] && !GradRegistry.supports(g.nodes().get(i))) r.add(g.nodes().get(i).describe());
    return r;
  }

  /** Times every node from now on (null: stop). */
  public void timer(OpTimer t) {
    this.timer = t;
  }

  /** The values of one forward pass: as consumed (quantized) and, for quantized ones, as computed. */
  public static final class Tape {
    final Map<String, Tensor> values = new HashMap<>();
    final Map<String, Tensor> raw = new HashMap<>();
    final Map<String, FixPoint> quant = new HashMap<>();

    public Tensor value(String name) {
      return values.get(name);
    }
  }

  /**
   * @param quantizer the fix_point of a value or initializer, or null to keep it float
   */
  public Tape forward(Map<String, Tensor> feeds, Function<String, FixPoint> quantizer) {
    Tape t = new Tape();
    graph.initializers().forEach((k, v) -> put(t, k, v, quantizer));
    feeds.forEach((k, v) -> put(t, k, v, quantizer));
    List<Node> nodes = graph.nodes();
    OpTimer clock = timer;
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
      long t0 = clock == null ? 0 : System.nanoTime();
      Tensor[] args = args(t, n);
      Tensor[] outs = executor.op(i).forward(args);
      if (onGrid(t, n, quantizer)) {
        t.values.put(n.outputs().get(0), outs[0]);
      } else {
        for (int j = 0; j < n.outputs().size() && j < outs.length; j++) {
          if (!n.outputs().get(j).isEmpty()) put(t, n.outputs().get(j), outs[j], quantizer);
        }
      }
      if (clock != null) clock.record(n, false, System.nanoTime() - t0);
    }
    return t;
  }

  /**
   * Whether the node's only output is already what its fake-quant would make it: an op that
   * keeps or rearranges its input's values, or sets some to zero (ReLU after a residual Add, max
   * pooling, reshapes), on an input quantized with the same fix_point; fake-quant is then the
   * identity and its straight-through mask passes everything, so both are skipped.
   */
  private static boolean onGrid(Tape t, Node n, Function<String, FixPoint> quantizer) {
    if (!VALUE_PRESERVING.contains(n.opType()) || n.outputs().size() != 1 || n.inputs().isEmpty()) return false;
    FixPoint in = t.quant.get(n.input(0));
    return in != null && in.equals(quantizer.apply(n.outputs().get(0)));
  }

  private static void put(Tape t, String name, Tensor v, Function<String, FixPoint> quantizer) {
    FixPoint q = v.isFloat() ? quantizer.apply(name) : null;
    if (q == null) {
      t.values.put(name, v);
      return;
    }
    float[] out = new float[v.size()];
    FakeQuant.apply(q, v.data(), out, 0, out.length);
    t.raw.put(name, v);
    t.quant.put(name, q);
    t.values.put(name, Tensor.of(out, v.shape()));
  }

  private static Tensor[] args(Tape t, Node n) {
    Tensor[] a = new Tensor[n.inputs().size()];
    for (int j = 0; j < a.length; j++) a[j] = n.input(j).isEmpty() ? null : t.values.get(n.input(j));
    return a;
  }

  /**
   * Gradients of the loss with respect to every value and initializer it depends on, given
   * its gradients at some values (usually the graph outputs). Gradients of quantized values
   * are with respect to the value before fake-quant (straight-through).
   */
  public Map<String, Tensor> backward(Tape t, Map<String, Tensor> seeds) {
    return backward(t, seeds, STE);
  }

  /**
   * The backward of one fake-quant: turns g, the loss gradient at the quantized value, into the
   * gradient at the value x before it (in place); it may also collect gradients of the
   * quantizer's own parameters (TQT's thresholds).
   */
  public interface QuantGrad {
    void backward(String name, FixPoint q, float[] x, float[] g);
  }

  /** The straight-through estimator, clipped at the quantization range. */
  public static final QuantGrad STE = (name, q, x, g) -> Ste.mask(q, x, g, 0, g.length);

  /** The same with another estimator for fake-quant's backward. */
  public Map<String, Tensor> backward(Tape t, Map<String, Tensor> seeds, QuantGrad quantGrad) {
    Map<String, float[]> g = new HashMap<>();
    seeds.forEach((k, v) -> g.put(k, v.data().clone()));
    List<Node> nodes = graph.nodes();
    OpTimer clock = timer;
    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node n = nodes.get(i);
      if (!differentiated[i]) continue;
      Tensor[] dys = gradients(t, n, g, quantGrad);
      if (dys == null) continue;
      long t0 = clock == null ? 0 : System.nanoTime();
      if (grads[i] == null) {
        grads[i] = GradRegistry.create(n);
        if (grads[i] instanceof ConvGrad && noGradient.contains(n.input(0))) grads[i] = new ConvGrad(n.attributes(), false);
      }
      Tensor[] outs = new Tensor[n.outputs().size()];
      // the outputs as computed, before their fake-quant: a fused activation's mask must see the
      // pre-quantization value (a small positive ReLU output rounds to the kink at 0)
      for (int j = 0; j < outs.length; j++) outs[j] = n.outputs().get(j).isEmpty() ? null : computed(t, n.outputs().get(j));
      Tensor[] dx;
      try {
        dx = grads[i].backward(args(t, n), outs, dys);
      } catch (RuntimeException e) {
        throw new GraphException("backward of " + n.describe() + ": " + e.getMessage(), e);
      }
      for (int j = 0; j < dx.length; j++) {
        if (dx[j] == null || n.input(j).isEmpty()) continue;
        float[] acc = g.get(n.input(j));
        if (acc == null) {
          g.put(n.input(j), dx[j].data());
        } else {
          float[] d = dx[j].data();
          for (int k = 0; k < acc.length; k++) acc[k] += d[k];
        }
      }
      if (clock != null) clock.record(n, true, System.nanoTime() - t0);
    }
    Map<String, Tensor> r = new LinkedHashMap<>();
    g.forEach((k, v) -> {
      Tensor val = t.values.get(k);
      if (graph.producer(k) == null) ste(t, k, v, quantGrad);
      r.put(k, Tensor.of(v, val.shape()));
    });
    return r;
  }

  /**
   * The loss gradient at each output of a node (null where none arrived), each turned into the
   * gradient before the output's fake-quant; null when none of its outputs has one.
   */
  private static Tensor[] gradients(Tape t, Node n, Map<String, float[]> g, QuantGrad quantGrad) {
    Tensor[] dys = null;
    for (int j = 0; j < n.outputs().size(); j++) {
      String out = n.outputs().get(j);
      float[] dy = out.isEmpty() ? null : g.get(out);
      if (dy == null) continue;
      if (dys == null) dys = new Tensor[n.outputs().size()];
      ste(t, out, dy, quantGrad);
      dys[j] = Tensor.of(dy, t.values.get(out).shape());
    }
    return dys;
  }

  private static Tensor computed(Tape t, String name) {
    Tensor raw = t.raw.get(name);
    return raw != null ? raw : t.values.get(name);
  }

  private static void ste(Tape t, String name, float[] g, QuantGrad quantGrad) {
    FixPoint q = t.quant.get(name);
    if (q != null) quantGrad.backward(name, q, t.raw.get(name).data(), g);
  }
}
