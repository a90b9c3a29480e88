package io.qspark.kernels.quant;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.tensor.ArgMax;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How far the quantized model is from the float one, tensor by tensor: the signal-to-
 * quantization-noise ratio at every activation point (float model vs fake-quant model, each
 * fed the same images, so the error accumulated up to that point counts), and how often the
 * two agree on the top class (a classifier's), and every output's fidelity ({@link OutputFidelity}).
 * A per-partition buffer with add and merge; the sums of squares
 * are exact ({@link ExactSum}), so every figure is the same for any partitioning.
 */
public final class QuantError implements Serializable {
  private static final long serialVersionUID = 1L;
  private final LinkedHashMap<String, ExactSum[]> sums = new LinkedHashMap<>();
  private final OutputFidelity outputs = new OutputFidelity();
  private long images;
  /** Images whose top class was compared: those of a classifier. */
  private long classified;
  private long agree;
  private long labelled;
  private long floatCorrect;
  private long quantCorrect;

  /** Runs both models on a batch of a single-input model; labels may be null (or negative for unlabelled images). */
  public void add(Executor floatEx, QuantizedModel q, Executor quantEx, Tensor input, int[] labels) {
    add(floatEx, q, quantEx, Map.of(q.graph().inputs().get(0).name(), input), labels);
  }

  /**
   * Runs both models on a batch fed to every input; labels may be null (or negative for
   * unlabelled images). Every output's fidelity is kept ({@link OutputFidelity}); top-class
   * agreement and top-1 only for a classifier (one output of n rows of class scores).
   */
  public void add(Executor floatEx, QuantizedModel q, Executor quantEx, Map<String, Tensor> feeds, int[] labels) {
    add(floatEx, q, quantEx, feeds, labels, null);
  }

  /**
   * The same, with the outputs' figures and the classifier's agreement taken against another
   * float model's outputs ({@code reference}, of the same inputs and outputs: the model a
   * fine-tuned or trained model came from); the per-point figures stay against {@code floatEx},
   * the float model whose values the points quantize. A null reference: {@code floatEx}.
   */
  public void add(Executor floatEx, QuantizedModel q, Executor quantEx, Map<String, Tensor> feeds, int[] labels,
      Executor reference) {
    Map<String, Tensor> f = floatEx.run(feeds, TensorObserver.NONE, true);
    Map<String, Tensor> z = quantEx.run(feeds, q.fakeQuant(), true);
    for (QuantPlan.ActivationPoint a : q.plan().activations()) {
      Tensor fed = feeds.get(a.name());
      Tensor ft = fed != null ? fed : f.get(a.name());
      Tensor qt = fed != null ? q.fakeQuant().onValue(null, a.name(), fed) : z.get(a.name());
      if (ft == null || qt == null || !ft.isFloat()) continue;
      ExactSum[] s = sums.computeIfAbsent(a.name(), k -> new ExactSum[] {new ExactSum(), new ExactSum()});
      float[] x = ft.data(), y = qt.data();
      s[0].addSquares(x);
      s[1].addSquaredErrors(x, y);
    }
    int n = feeds.values().iterator().next().dim(0);
    if (reference != null) {
      Map<String, Tensor> r = reference.run(feeds, TensorObserver.NONE, false);
      f = new java.util.HashMap<>(f);
      for (String out : q.graph().outputs()) {
        Tensor ro = r.get(out), zo = z.get(out);
        if (ro == null || zo == null || ro.size() != zo.size()) {
          throw new IllegalArgumentException("the reference model's output '" + out + "' does not match the quantized model's ("
              + (ro == null ? "absent" : java.util.Arrays.toString(ro.shape())) + " against "
              + (zo == null ? "absent" : java.util.Arrays.toString(zo.shape())) + ")");
        }
        f.put(out, ro);
      }
    }
    for (String out : q.graph().outputs()) {
      Tensor fo = f.get(out), zo = z.get(out);
      if (fo != null && zo != null && fo.isFloat() && zo.isFloat()) outputs.add(out, fo.data(), zo.data());
    }
    if (classifier(f, q.graph().outputs(), n)) {
      String out = q.graph().outputs().get(0);
      float[] lf = f.get(out).data(), lq = z.get(out).data();
      int classes = lf.length / n;
      for (int b = 0; b < n; b++) {
        int af = ArgMax.of(lf, b * classes, classes), aq = ArgMax.of(lq, b * classes, classes);
        if (af == aq) agree++;
        if (labels != null && labels[b] >= 0) {
          labelled++;
          if (af == labels[b]) floatCorrect++;
          if (aq == labels[b]) quantCorrect++;
        }
      }
      classified += n;
    }
    images += n;
  }

  /** One output of n rows of scores: a classifier's, whose top class counts. */
  private static boolean classifier(Map<String, Tensor> values, java.util.List<String> outputs, int n) {
    if (outputs.size() != 1) return false;
    Tensor t = values.get(outputs.get(0));
    return t != null && t.isFloat() && t.rank() == 2 && t.dim(0) == n;
  }

  public QuantError merge(QuantError o) {
    o.sums.forEach((k, v) -> {
      ExactSum[] s = sums.computeIfAbsent(k, x -> new ExactSum[] {new ExactSum(), new ExactSum()});
      s[0].merge(v[0]);
      s[1].merge(v[1]);
    });
    outputs.merge(o.outputs);
    images += o.images;
    classified += o.classified;
    agree += o.agree;
    labelled += o.labelled;
    floatCorrect += o.floatCorrect;
    quantCorrect += o.quantCorrect;
    return this;
  }

  /** SQNR in dB per activation point, in plan order (infinite when there is no error). */
  public Map<String, Double> sqnrDb() {
    Map<String, Double> r = new LinkedHashMap<>();
    sums.forEach((k, s) -> r.put(k, ExactSum.decibels(s[0], s[1])));
    return r;
  }

  public long images() {
    return images;
  }

  /** Share of images where float and quantized models pick the same class (a classifier's; 0 for other models). */
  public double agreement() {
    return classified == 0 ? 0 : (double) agree / classified;
  }

  /** Whether the model's output is class scores, so agreement and top-1 mean something. */
  public boolean classifier() {
    return classified > 0;
  }

  /** Every output's fidelity, quantized against float. */
  public OutputFidelity outputs() {
    return outputs;
  }

  public boolean hasLabels() {
    return labelled > 0;
  }

  public double floatTop1() {
    return labelled == 0 ? Double.NaN : 100.0 * floatCorrect / labelled;
  }

  public double quantTop1() {
    return labelled == 0 ? Double.NaN : 100.0 * quantCorrect / labelled;
  }
}
